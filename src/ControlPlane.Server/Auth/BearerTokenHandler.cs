using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Auth;

/// <summary>
/// Authenticates <c>Authorization: Bearer ...</c> with <see cref="TokenService"/>, and answers a 401 with the
/// <c>WWW-Authenticate: Bearer</c> challenge of RFC 6750 (with the error when credentials were given and refused).
/// </summary>
public sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenService tokens,
    RevokedTokenCache revoked,
    TimeProvider time) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var result = Authenticate(out var identity);
        if (identity is not { ExpiresAt: not null, TokenId: { } tokenId })
        {
            return result;
        }

        // An issued token: refused once revoked. A silo that has not read the registry yet reads it first.
        await revoked.EnsureLoadedAsync();

        return revoked.IsRevoked(tokenId)
            ? AuthenticateResult.Fail(new BearerChallengeException(BearerChallenge.InvalidToken, "The bearer token was revoked."))
            : result;
    }

    private AuthenticateResult Authenticate(out TokenIdentity? verified)
    {
        verified = null;
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.Fail(new BearerChallengeException(BearerChallenge.InvalidRequest, "The Authorization header is not a bearer token."));
        }

        var identity = tokens.Verify(header["Bearer ".Length..].Trim(), time.GetUtcNow());
        if (identity is null)
        {
            return AuthenticateResult.Fail(new BearerChallengeException(BearerChallenge.InvalidToken, "The bearer token is not valid."));
        }

        var claims = new List<Claim>
        {
            new(ControlPlaneClaims.Role, identity.Role),
            new(ControlPlaneClaims.Subject, identity.Subject),
        };
        if (identity.TokenId is not null)
        {
            claims.Add(new Claim(ControlPlaneClaims.TokenId, identity.TokenId));
        }

        if (identity.ExpiresAt is { } expires)
        {
            claims.Add(new Claim(ControlPlaneClaims.Expires, expires.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, ControlPlaneClaims.Subject, ControlPlaneClaims.Role));
        verified = identity;
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = result.Failure is BearerChallengeException refused
            ? BearerChallenge.Header(refused.Error, refused.Message)
            : BearerChallenge.Scheme;
    }
}

/// <summary>The <c>WWW-Authenticate</c> values of RFC 6750, section 3.</summary>
public static class BearerChallenge
{
    public const string Scheme = "Bearer";

    /// <summary>The token is malformed, forged, of another installation, or no longer the subject's current one.</summary>
    public const string InvalidToken = "invalid_token";

    /// <summary>The request's credentials are not a bearer token at all.</summary>
    public const string InvalidRequest = "invalid_request";

    /// <param name="description">Shown to the client; never quotes or backslashes (it is a quoted string).</param>
    public static string Header(string error, string description) => $"{Scheme} error=\"{error}\", error_description=\"{description}\"";
}

/// <summary>Why credentials were refused, as the challenge names it.</summary>
internal sealed class BearerChallengeException(string error, string message) : Exception(message)
{
    public string Error { get; } = error;
}
