namespace ControlPlane.Contracts.Auth;

/// <summary>
/// Every gateway, customer and operator token issued through the admin API, keyed by <see cref="GrainKeys.TokenRegistry"/>:
/// who issued it, when it expires, whether it was revoked. The token itself is never stored, only its id. Silos read
/// the revoked ids through a per-silo copy refreshed every few seconds, so this grain is not on the request path.
/// </summary>
[Alias("ITokenRegistryGrain")]
public interface ITokenRegistryGrain : IGrainWithStringKey
{
    /// <summary>Records an issued token; recording the same id again changes nothing.</summary>
    [Alias("RecordAsync")]
    Task RecordAsync(IssuedToken token);

    /// <summary>The tokens not yet expired (expired ones are forgotten a day after they expire), by issue time.</summary>
    [Alias("ListAsync")]
    Task<IReadOnlyList<IssuedToken>> ListAsync(DateTimeOffset now);

    /// <summary>Revokes a token; revoking a revoked token again changes nothing.</summary>
    [Alias("RevokeAsync")]
    Task<TokenRevocation> RevokeAsync(string tokenId, string revokedBy, DateTimeOffset at);

    /// <summary>
    /// The ids of revoked tokens that have not expired yet, with a version that grows with every revocation; null when
    /// nothing was revoked since <paramref name="knownVersion"/> (the caller's copy is current).
    /// </summary>
    [Alias("GetRevokedAsync")]
    Task<RevokedTokens?> GetRevokedAsync(long knownVersion, DateTimeOffset now);
}

/// <summary>An issued token as the registry keeps it.</summary>
/// <param name="TokenId">The id inside the token (32 hex digits).</param>
/// <param name="IssuedBy">Who asked for it: <c>bootstrap</c>, or <c>token:{id}</c> of the operator token that did.</param>
/// <param name="ExpiresAt">When it stops being accepted.</param>
/// <param name="RevokedAt">When it was revoked; null while it is not.</param>
/// <param name="RevokedBy">Who revoked it, in <paramref name="IssuedBy"/>'s terms.</param>
[GenerateSerializer, Alias("issued-token")]
public sealed record IssuedToken(
    [property: Id(0)] string TokenId,
    [property: Id(1)] string Role,
    [property: Id(2)] string Subject,
    [property: Id(3)] string IssuedBy,
    [property: Id(4)] DateTimeOffset IssuedAt,
    [property: Id(5)] DateTimeOffset ExpiresAt,
    [property: Id(6)] DateTimeOffset? RevokedAt = null,
    [property: Id(7)] string? RevokedBy = null);

[GenerateSerializer, Alias("token-revocation-status")]
public enum TokenRevocationStatus
{
    Revoked = 0,
    /// <summary>It was revoked before: nothing changed.</summary>
    AlreadyRevoked = 1,
    /// <summary>No such token (never issued here, or expired and forgotten).</summary>
    NotFound = 2,
}

[GenerateSerializer, Alias("token-revocation")]
public sealed record TokenRevocation([property: Id(0)] TokenRevocationStatus Status, [property: Id(1)] IssuedToken? Token);

/// <summary>The ids of revoked, unexpired tokens at a version of the registry.</summary>
[GenerateSerializer, Alias("revoked-tokens")]
public sealed record RevokedTokens([property: Id(0)] long Version, [property: Id(1)] IReadOnlyList<string> TokenIds);
