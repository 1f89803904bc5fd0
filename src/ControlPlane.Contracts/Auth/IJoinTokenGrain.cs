using ControlPlane.Domain.Fleet;

namespace ControlPlane.Contracts.Auth;

/// <summary>
/// One join token, keyed by <see cref="GrainKeys.JoinToken"/>: the terms of the nodes it may enrol, its uses and
/// whether it was revoked. An agent presents it once to enrol its node and receives that node's own token; the join
/// token itself authorizes nothing else. Uses are counted here, one at a time, so <c>maxUses</c> holds under races.
/// </summary>
[Alias("IJoinTokenGrain")]
public interface IJoinTokenGrain : IGrainWithStringKey
{
    /// <summary>Stores the join token; creating it again changes nothing.</summary>
    [Alias("CreateAsync")]
    Task CreateAsync(JoinTokenSpec spec);

    /// <summary>The join token and its uses; null when it was never created.</summary>
    [Alias("GetAsync")]
    Task<JoinTokenView?> GetAsync();

    /// <summary>Refuses every later enrolment with it; null when it was never created.</summary>
    [Alias("RevokeAsync")]
    Task<JoinTokenView?> RevokeAsync(DateTimeOffset at);

    /// <summary>
    /// Enrols <paramref name="nodeId"/> on the join token's terms and counts a use. A retry with the same
    /// <paramref name="idempotencyKey"/> for the same node returns the first answer and counts nothing. A node already
    /// enrolled is refused unless an operator revoked its token (it then gets a new one, and that counts a use).
    /// </summary>
    [Alias("EnrolAsync")]
    Task<JoinResult> EnrolAsync(string nodeId, string? idempotencyKey, DateTimeOffset now);
}

/// <summary>A join token as an operator issued it.</summary>
/// <param name="TokenId">The id inside the token (32 hex digits).</param>
/// <param name="Region">The region of every node it enrols.</param>
/// <param name="Provider">Who runs the hardware of the nodes it enrols.</param>
/// <param name="Ownership">Owned or rented, for every node it enrols.</param>
/// <param name="HourlyCostUsd">What each node it enrols costs per hour.</param>
/// <param name="NodeIdPrefix">When set, only node ids starting with it may enrol.</param>
/// <param name="MaxUses">How many enrolments it allows (retries of one do not count).</param>
[GenerateSerializer, Alias("join-token-spec")]
public sealed record JoinTokenSpec(
    [property: Id(0)] string TokenId,
    [property: Id(1)] string Region,
    [property: Id(2)] string Provider,
    [property: Id(3)] Ownership Ownership,
    [property: Id(4)] decimal HourlyCostUsd,
    [property: Id(5)] string? NodeIdPrefix,
    [property: Id(6)] int MaxUses,
    [property: Id(7)] string IssuedBy,
    [property: Id(8)] DateTimeOffset IssuedAt,
    [property: Id(9)] DateTimeOffset ExpiresAt);

/// <summary>One enrolment made with a join token.</summary>
/// <param name="NodeTokenId">The id of the node token it handed out.</param>
[GenerateSerializer, Alias("join-use")]
public sealed record JoinUse(
    [property: Id(0)] string NodeId,
    [property: Id(1)] string? IdempotencyKey,
    [property: Id(2)] string NodeTokenId,
    [property: Id(3)] DateTimeOffset NodeTokenIssuedAt,
    [property: Id(4)] DateTimeOffset At);

[GenerateSerializer, Alias("join-token-view")]
public sealed record JoinTokenView(
    [property: Id(0)] JoinTokenSpec Spec,
    [property: Id(1)] IReadOnlyList<JoinUse> Uses,
    [property: Id(2)] DateTimeOffset? RevokedAt);

[GenerateSerializer, Alias("join-status")]
public enum JoinStatus
{
    /// <summary>Enrolled now, or a retry of the same enrolment.</summary>
    Enrolled = 0,
    /// <summary>No such join token, or it expired or was revoked.</summary>
    Invalid = 1,
    /// <summary>The node id does not start with the join token's prefix.</summary>
    NodeNotAllowed = 2,
    /// <summary>Every use was spent.</summary>
    UsedUp = 3,
    /// <summary>The node is enrolled and holds a token: an operator rotates it, a join token cannot take it over.</summary>
    AlreadyEnrolled = 4,
}

/// <param name="NodeTokenId">Set when <see cref="JoinStatus.Enrolled"/>: the node token's id (the server signs it).</param>
[GenerateSerializer, Alias("join-result")]
public sealed record JoinResult(
    [property: Id(0)] JoinStatus Status,
    [property: Id(1)] string? NodeTokenId = null,
    [property: Id(2)] DateTimeOffset? NodeTokenIssuedAt = null);
