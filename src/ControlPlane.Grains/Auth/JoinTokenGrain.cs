using ControlPlane.Contracts;
using ControlPlane.Contracts.Auth;
using ControlPlane.Contracts.Fleet;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Auth;

/// <summary>
/// One join token. Enrolments go through here one at a time (the grain is not reentrant), so its uses never exceed
/// <see cref="JoinTokenSpec.MaxUses"/>; a use is written only after the node grain enrolled the node, and a retry of
/// the same enrolment is answered from the stored use.
/// </summary>
public sealed partial class JoinTokenGrain(
    [PersistentState("join-token", "store")] IPersistentState<JoinTokenState> state,
    ILogger<JoinTokenGrain> logger) : Grain, IJoinTokenGrain
{
    private JoinTokenState S => state.State;

    public async Task CreateAsync(JoinTokenSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (S.Spec is not null)
        {
            return;
        }

        S.Spec = spec;
        await state.WriteOrReloadAsync(this, logger);
    }

    public Task<JoinTokenView?> GetAsync() => Task.FromResult(View());

    public async Task<JoinTokenView?> RevokeAsync(DateTimeOffset at)
    {
        if (S.Spec is null)
        {
            return null;
        }

        if (S.RevokedAt is null)
        {
            S.RevokedAt = at;
            await state.WriteOrReloadAsync(this, logger);
        }

        return View();
    }

    public async Task<JoinResult> EnrolAsync(string nodeId, string? idempotencyKey, DateTimeOffset now)
    {
        if (S.Spec is not { } spec || S.RevokedAt is not null || now >= spec.ExpiresAt)
        {
            return Refused(nodeId, JoinStatus.Invalid);
        }

        if (idempotencyKey is not null
            && S.Uses.FirstOrDefault(u => u.NodeId == nodeId && u.IdempotencyKey == idempotencyKey) is { } retried)
        {
            return new JoinResult(JoinStatus.Enrolled, retried.NodeTokenId, retried.NodeTokenIssuedAt);
        }

        if (spec.NodeIdPrefix is { } prefix && !nodeId.StartsWith(prefix, StringComparison.Ordinal))
        {
            return Refused(nodeId, JoinStatus.NodeNotAllowed);
        }

        if (S.Uses.Count >= spec.MaxUses)
        {
            return Refused(nodeId, JoinStatus.UsedUp);
        }

        // The node grain's own idempotency covers a crash between its write and ours: the retry finds the node
        // enrolled with this key and gets its token back, and the use is counted then.
        var node = GrainFactory.GetGrain<INodeGrain>(GrainKeys.Node(nodeId));
        var enrolment = await node.EnrollAsync(new NodeEnrollment(
            nodeId,
            spec.Region,
            spec.Provider,
            spec.Ownership,
            spec.HourlyCostUsd,
            idempotencyKey is null ? null : $"join:{spec.TokenId}:{idempotencyKey}"));
        if (enrolment.Status == EnrollmentStatus.AlreadyEnrolled)
        {
            enrolment = await node.RejoinAsync(spec.Region);
        }

        if (enrolment is not { Status: EnrollmentStatus.Enrolled, TokenId: { } tokenId, TokenIssuedAt: { } issuedAt })
        {
            return Refused(nodeId, JoinStatus.AlreadyEnrolled);
        }

        S.Uses.Add(new JoinUse(nodeId, idempotencyKey, tokenId, issuedAt, now));
        await state.WriteOrReloadAsync(this, logger);
        LogEnrolled(spec.TokenId, nodeId, S.Uses.Count, spec.MaxUses);
        return new JoinResult(JoinStatus.Enrolled, tokenId, issuedAt);
    }

    private JoinResult Refused(string nodeId, JoinStatus status)
    {
        LogRefused(S.Spec?.TokenId ?? GrainKeys.IdOf(this.GetPrimaryKeyString()), nodeId, status);
        return new JoinResult(status);
    }

    private JoinTokenView? View() => S.Spec is null ? null : new JoinTokenView(S.Spec, S.Uses.ToArray(), S.RevokedAt);
}
