using ControlPlane.Contracts.Auth;

namespace ControlPlane.Server.Api.Auth;

/// <param name="Role"><c>gateway</c>, <c>customer</c> or <c>operator</c>.</param>
/// <param name="Subject">Required for a customer token (the customer id); defaults to the role.</param>
/// <param name="ExpiresInSeconds">Lifetime; default <c>Auth:DefaultTokenLifetimeDays</c>, at most <c>Auth:MaxTokenLifetimeDays</c>.</param>
public sealed record IssueTokenRequest(string? Role, string? Subject, long? ExpiresInSeconds = null);

/// <summary>The issued token, shown once: only its id is kept.</summary>
public sealed record TokenResponse(
    string Token, string TokenId, string Role, string Subject, string IssuedBy, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);

/// <summary>An issued token as listed: never the token itself.</summary>
/// <param name="State"><c>active</c>, <c>expired</c> or <c>revoked</c>.</param>
public sealed record TokenInfo(
    string TokenId,
    string Role,
    string Subject,
    string IssuedBy,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string State,
    DateTimeOffset? RevokedAt,
    string? RevokedBy)
{
    public static TokenInfo From(IssuedToken t, DateTimeOffset now) => new(
        t.TokenId, t.Role, t.Subject, t.IssuedBy, t.IssuedAt, t.ExpiresAt,
        t.RevokedAt is not null ? "revoked" : t.ExpiresAt <= now ? "expired" : "active",
        t.RevokedAt, t.RevokedBy);
}

public static class TokenValidation
{
    /// <summary>The shortest lifetime a token may be issued for.</summary>
    public const long MinLifetimeSeconds = 1;

    /// <summary>A token id as issued: 32 lower-case hex digits.</summary>
    public static bool IsTokenId(string? id) => id is { Length: 32 } && id.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
