using System.Security.Claims;
using System.Security.Cryptography;
using ControlPlane.Server.Options;
using Microsoft.AspNetCore.Authentication;

namespace ControlPlane.Server.Auth;

public static class AuthExtensions
{
    /// <summary>
    /// Bearer authentication and role policies. Resolves the operator token first: configured, or kept
    /// in (and on first start generated into) the data directory.
    /// </summary>
    public static IHostApplicationBuilder AddControlPlaneAuth(this IHostApplicationBuilder builder, OperatorToken operatorToken)
    {
        var auth = builder.Configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new AuthOptions();
        builder.Services.AddSingleton(operatorToken);
        var installation = builder.Configuration.GetSection(ClusteringOptions.SectionName).Get<ClusteringOptions>()?.ServiceId ?? new ClusteringOptions().ServiceId;
        builder.Services.AddSingleton(new TokenService(operatorToken.Value, auth.SigningKey, installation, auth.BootstrapTokenEnabled));
        builder.Services.AddSingleton<RevokedTokenCache>();
        builder.Services.AddHostedService<RevokedTokenRefresher>();
        var authentication = builder.Services
            .AddAuthentication(auth.Oidc.Enabled ? OidcOperators.SelectorScheme : BearerTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null);
        if (auth.Oidc.Enabled)
        {
            OidcOperators.Add(authentication, auth.Oidc);
        }

        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Operator, p => p.RequireClaim(ControlPlaneClaims.Role, Roles.Operator))
            .AddPolicy(Policies.Node, p => p.RequireClaim(ControlPlaneClaims.Role, Roles.Node))
            .AddPolicy(Policies.Gateway, p => p.RequireClaim(ControlPlaneClaims.Role, Roles.Gateway))
            .AddPolicy(Policies.Customer, p => p.RequireClaim(ControlPlaneClaims.Role, Roles.Customer))
            .AddPolicy(Policies.Join, p => p.RequireClaim(ControlPlaneClaims.Role, Roles.Join));
        return builder;
    }

    public static string? Subject(this ClaimsPrincipal user) => user.FindFirstValue(ControlPlaneClaims.Subject);

    public static string? TokenId(this ClaimsPrincipal user) => user.FindFirstValue(ControlPlaneClaims.TokenId);

    /// <summary>When the caller's token expires; null for the bootstrap token (and node tokens).</summary>
    public static DateTimeOffset? TokenExpires(this ClaimsPrincipal user) =>
        long.TryParse(user.FindFirstValue(ControlPlaneClaims.Expires), System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    /// <summary>
    /// Who the caller is, as the token registry records issuers: <c>token:{id}</c> for an issued operator token, the
    /// subject otherwise (<c>bootstrap</c>, or <c>oidc:{subject}</c> for an operator from the identity provider).
    /// </summary>
    public static string Issuer(this ClaimsPrincipal user) => user.TokenId() is { } id ? "token:" + id : user.Subject() ?? "bootstrap";
}

/// <summary>The operator token in force and where it came from.</summary>
public sealed record OperatorToken(string Value, string? GeneratedFile, bool Generated)
{
    /// <summary>The configured token, or the one kept in the data directory, generating it on first start.</summary>
    public static OperatorToken Resolve(AuthOptions auth, StorageOptions storage)
    {
        if (!string.IsNullOrWhiteSpace(auth.BootstrapToken))
        {
            return new OperatorToken(auth.BootstrapToken.Trim(), null, false);
        }

        var directory = Path.GetFullPath(storage.DataDirectory);
        var file = Path.Combine(directory, "operator-token");
        if (File.Exists(file))
        {
            var existing = File.ReadAllText(file).Trim();
            if (existing.StartsWith(TokenService.Prefix, StringComparison.Ordinal))
            {
                throw new Hosting.StartupException($"The operator token in {file} starts with '{TokenService.Prefix}', as signed tokens do, so it would always be refused: delete the file to generate a new one, or set Auth:BootstrapToken.");
            }

            if (existing.Length >= 16)
            {
                return new OperatorToken(existing, file, false);
            }
        }

        Directory.CreateDirectory(directory);
        var token = "cpop_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        File.WriteAllText(file, token + Environment.NewLine);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return new OperatorToken(token, file, true);
    }
}
