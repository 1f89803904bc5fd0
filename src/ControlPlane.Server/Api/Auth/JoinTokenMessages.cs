using ControlPlane.Contracts.Auth;
using ControlPlane.Domain;
using ControlPlane.Domain.Fleet;
using ControlPlane.Server.Api.Fleet;

namespace ControlPlane.Server.Api.Auth;

/// <summary>
/// Body of <c>POST /admin/v1/join-tokens</c>: the terms every node it enrols gets (the agent only names its node id,
/// so a node cannot choose its own region or price), and how far the token reaches.
/// </summary>
/// <param name="Region">Region of the nodes it enrols.</param>
/// <param name="Provider">Who runs their hardware.</param>
/// <param name="Ownership"><c>owned</c> or <c>rented</c>.</param>
/// <param name="HourlyCostUsd">What each node costs per hour, in dollars.</param>
/// <param name="NodeIdPrefix">Only node ids starting with it may enrol; none: any node id.</param>
/// <param name="MaxUses">How many nodes it may enrol, 1 (the default) to <see cref="JoinTokenValidation.MaxUses"/>.</param>
/// <param name="ExpiresInSeconds">Lifetime; default one day, at most <c>Auth:MaxTokenLifetimeDays</c>.</param>
public sealed record IssueJoinTokenRequest(
    string? Region, string? Provider, Ownership? Ownership, decimal? HourlyCostUsd, string? NodeIdPrefix = null, int? MaxUses = null, long? ExpiresInSeconds = null);

/// <summary>A join token as listed; <see cref="Token"/> only in the answer that issued it.</summary>
/// <param name="State"><c>active</c>, <c>used-up</c>, <c>expired</c> or <c>revoked</c>.</param>
/// <param name="Nodes">The nodes enrolled with it, in order.</param>
public sealed record JoinTokenResponse(
    string TokenId,
    string Region,
    string Provider,
    Ownership Ownership,
    decimal HourlyCostUsd,
    string? NodeIdPrefix,
    int MaxUses,
    int Uses,
    IReadOnlyList<string> Nodes,
    string IssuedBy,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string State,
    DateTimeOffset? RevokedAt,
    string? Token = null)
{
    public static JoinTokenResponse From(JoinTokenView view, DateTimeOffset now, string? token = null)
    {
        var s = view.Spec;
        var state = view.RevokedAt is not null ? "revoked"
            : s.ExpiresAt <= now ? "expired"
            : view.Uses.Count >= s.MaxUses ? "used-up"
            : "active";
        return new JoinTokenResponse(
            s.TokenId, s.Region, s.Provider, s.Ownership, s.HourlyCostUsd, s.NodeIdPrefix, s.MaxUses, view.Uses.Count,
            view.Uses.Select(u => u.NodeId).ToArray(), s.IssuedBy, s.IssuedAt, s.ExpiresAt, state, view.RevokedAt, token);
    }
}

/// <summary>Body of <c>POST /agent/v1/enrol</c>: the node the agent runs on.</summary>
public sealed record AgentEnrolRequest(string? NodeId);

/// <summary>The node's own token: the agent keeps it and heartbeats with it.</summary>
public sealed record AgentEnrolResponse(string NodeId, string Token);

/// <summary>An operator's new token for a node (<c>POST /admin/v1/nodes/{nodeId}/token</c>); the one before is refused.</summary>
public sealed record NodeTokenResponse(string NodeId, string Token, DateTimeOffset IssuedAt);

public static class JoinTokenValidation
{
    public const int MaxUses = 10_000;
    public const long DefaultLifetimeSeconds = 86_400;

    public static Dictionary<string, string[]> Validate(IssueJoinTokenRequest request)
    {
        // The node terms follow the enrolment's rules exactly: a join token cannot enrol a node an operator could not.
        var errors = FleetValidation.Validate(new EnrollNodeRequest("join-token", request.Region, request.Provider, request.Ownership, request.HourlyCostUsd));
        if (request.NodeIdPrefix is { } prefix && (prefix.Length is 0 or > 62 || !FleetValidation.IsValidId(prefix + "0")))
        {
            errors["nodeIdPrefix"] = ["The start of a node id: lower-case letters, digits, '-' and '.', starting with a letter or digit, at most 62 characters."];
        }

        if (request.MaxUses is { } uses && uses is < 1 or > MaxUses)
        {
            errors["maxUses"] = [$"Between 1 and {MaxUses}."];
        }

        return errors;
    }

    /// <summary>An idempotency key as every mutating call takes it.</summary>
    public static bool IsValidKey(string? key) => key is null || (key.Length is > 0 and <= 128 && !FreeText.HasUnsafeCharacter(key));
}
