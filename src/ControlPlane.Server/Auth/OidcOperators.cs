using System.Security.Claims;
using System.Text.Json;
using ControlPlane.Server.Options;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;

namespace ControlPlane.Server.Auth;

/// <summary>
/// Operators signing in with a JWT from the company's OpenID Connect provider (<see cref="OidcOptions"/>). A request's
/// bearer token goes to the JWT handler when it looks like a JWT (three base64url parts, a JSON header), to
/// <see cref="BearerTokenHandler"/> otherwise (the bootstrap token, <c>cp1.</c> tokens). A valid JWT whose role claim
/// holds <see cref="OidcOptions.OperatorRole"/> becomes the principal every other token becomes: role <c>operator</c>,
/// subject <c>oidc:{sub}</c>; any other valid JWT is refused (401), so what the provider says beyond that role grants
/// nothing here.
/// </summary>
public static class OidcOperators
{
    /// <summary>The default scheme when OIDC is on: it forwards each request to one of the two.</summary>
    public const string SelectorScheme = "BearerOrOidc";

    public const string SchemeName = "Oidc";

    public static void Add(AuthenticationBuilder authentication, OidcOptions oidc)
    {
        authentication.AddPolicyScheme(SelectorScheme, "Control plane or OpenID Connect bearer token", o =>
            o.ForwardDefaultSelector = context => LooksLikeJwt(context.Request.Headers.Authorization) ? SchemeName : BearerTokenHandler.SchemeName);
        authentication.AddJwtBearer(SchemeName, o =>
        {
            o.Authority = oidc.Authority;
            o.Audience = oidc.Audience;
            o.RequireHttpsMetadata = oidc.RequireHttpsMetadata;
            o.MapInboundClaims = false;
            o.TokenValidationParameters.ValidateIssuer = true;
            o.TokenValidationParameters.ValidateAudience = true;
            o.TokenValidationParameters.ValidateLifetime = true;
            o.Events = new JwtBearerEvents
            {
                OnTokenValidated = context =>
                {
                    var claims = context.Principal?.Claims.ToArray() ?? [];
                    var subject = claims.FirstOrDefault(c => c.Type == "sub")?.Value;
                    if (string.IsNullOrWhiteSpace(subject) || !HasRole(claims, oidc.RoleClaim, oidc.OperatorRole))
                    {
                        context.Fail($"The token does not carry the role '{oidc.OperatorRole}' in its '{oidc.RoleClaim}' claim.");
                        return Task.CompletedTask;
                    }

                    context.Principal = new ClaimsPrincipal(new ClaimsIdentity(
                        [new Claim(ControlPlaneClaims.Role, Roles.Operator), new Claim(ControlPlaneClaims.Subject, "oidc:" + subject)],
                        SchemeName,
                        ControlPlaneClaims.Subject,
                        ControlPlaneClaims.Role));
                    return Task.CompletedTask;
                },
            };
        });
    }

    /// <summary>Whether an Authorization header carries a JWT: <c>Bearer</c>, then three base64url parts whose first is a JSON object.</summary>
    public static bool LooksLikeJwt(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var token = authorization["Bearer ".Length..].Trim();
        return !token.StartsWith(TokenService.Prefix, StringComparison.Ordinal)
            && token.Count(c => c == '.') == 2
            && token.StartsWith("eyJ", StringComparison.Ordinal);
    }

    /// <summary>Whether the role claim (one value, several claims, or a JSON array in one) holds the role.</summary>
    internal static bool HasRole(IEnumerable<Claim> claims, string roleClaim, string role)
    {
        foreach (var claim in claims.Where(c => c.Type == roleClaim))
        {
            if (claim.Value == role)
            {
                return true;
            }

            if (claim.Value.StartsWith('['))
            {
                try
                {
                    if (JsonSerializer.Deserialize<string[]>(claim.Value) is { } values && values.Contains(role, StringComparer.Ordinal))
                    {
                        return true;
                    }
                }
                catch (JsonException)
                {
                    // Not an array of strings: not a role list.
                }
            }
        }

        return false;
    }
}
