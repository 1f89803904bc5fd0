using ControlPlane.Contracts.Auth;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Auth;

/// <summary>
/// The issued tokens: written when an operator issues or revokes one, read by the silos' revocation copies every few
/// seconds (answered from memory, and with nothing when nothing changed). Expired tokens are forgotten a day after
/// they expire, on the next write, so the state stays the size of the live tokens.
/// </summary>
public sealed partial class TokenRegistryGrain(
    [PersistentState("token-registry", "store")] IPersistentState<TokenRegistryState> state,
    ILogger<TokenRegistryGrain> logger) : Grain, ITokenRegistryGrain
{
    /// <summary>How long an expired token stays listed (and its revocation known) after it expired.</summary>
    public static readonly TimeSpan ForgetAfter = TimeSpan.FromDays(1);

    private TokenRegistryState S => state.State;

    public async Task RecordAsync(IssuedToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (S.Tokens.ContainsKey(token.TokenId))
        {
            return;
        }

        Forget(token.IssuedAt);
        S.Tokens[token.TokenId] = token;
        await state.WriteOrReloadAsync(this, logger);
        LogIssued(token.TokenId, token.Role, token.Subject, token.IssuedBy, token.ExpiresAt);
    }

    public Task<IReadOnlyList<IssuedToken>> ListAsync(DateTimeOffset now) => Task.FromResult<IReadOnlyList<IssuedToken>>(
        S.Tokens.Values
            .Where(t => t.ExpiresAt + ForgetAfter > now)
            .OrderBy(t => t.IssuedAt)
            .ThenBy(t => t.TokenId, StringComparer.Ordinal)
            .ToArray());

    public async Task<TokenRevocation> RevokeAsync(string tokenId, string revokedBy, DateTimeOffset at)
    {
        if (!S.Tokens.TryGetValue(tokenId, out var token) || token.ExpiresAt + ForgetAfter <= at)
        {
            return new TokenRevocation(TokenRevocationStatus.NotFound, null);
        }

        if (token.RevokedAt is not null)
        {
            return new TokenRevocation(TokenRevocationStatus.AlreadyRevoked, token);
        }

        var revoked = token with { RevokedAt = at, RevokedBy = revokedBy };
        Forget(at);
        S.Tokens[tokenId] = revoked;
        S.RevocationVersion++;
        await state.WriteOrReloadAsync(this, logger);
        LogRevoked(tokenId, token.Role, token.Subject, revokedBy);
        return new TokenRevocation(TokenRevocationStatus.Revoked, revoked);
    }

    public Task<RevokedTokens?> GetRevokedAsync(long knownVersion, DateTimeOffset now)
    {
        if (knownVersion == S.RevocationVersion)
        {
            return Task.FromResult<RevokedTokens?>(null);
        }

        // An expired token is refused for its expiry anyway: its revocation need not travel.
        var ids = S.Tokens.Values.Where(t => t.RevokedAt is not null && t.ExpiresAt > now).Select(t => t.TokenId).Order(StringComparer.Ordinal).ToArray();
        return Task.FromResult<RevokedTokens?>(new RevokedTokens(S.RevocationVersion, ids));
    }

    private void Forget(DateTimeOffset now)
    {
        foreach (var expired in S.Tokens.Values.Where(t => t.ExpiresAt + ForgetAfter <= now).Select(t => t.TokenId).ToArray())
        {
            S.Tokens.Remove(expired);
        }
    }
}
