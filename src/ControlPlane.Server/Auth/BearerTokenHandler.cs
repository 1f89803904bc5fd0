using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Auth;

/// <summary>Authenticates <c>Authorization: Bearer ...</c> with <see cref="TokenService"/>.</summary>
public sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenService tokens) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.Fail("The Authorization header is not a bearer token."));
        }

        var identity = tokens.Verify(header["Bearer ".Length..].Trim());
        if (identity is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("The bearer token is not valid."));
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

        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, ControlPlaneClaims.Subject, ControlPlaneClaims.Role));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }
}
