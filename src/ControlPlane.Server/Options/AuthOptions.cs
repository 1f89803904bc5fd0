namespace ControlPlane.Server.Options;

/// <summary>Bearer tokens (configuration section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>
    /// The operator token. Without one, a single silo generates one on first start and keeps it in the
    /// data directory; a cluster of silos must configure it (they must all accept the same token).
    /// </summary>
    public string? BootstrapToken { get; set; }

    /// <summary>
    /// Key that signs issued tokens (node tokens). By default derived from the bootstrap token, so
    /// rotating that token also invalidates issued ones; set this to rotate them independently.
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>How long an issued gateway, customer or operator token lives when the request names no lifetime.</summary>
    /// <value>90 days.</value>
    public int DefaultTokenLifetimeDays { get; set; } = 90;

    /// <summary>The longest lifetime a request may ask for.</summary>
    /// <value>366 days.</value>
    public int MaxTokenLifetimeDays { get; set; } = 366;

    /// <summary>
    /// Whether <see cref="BootstrapToken"/> (or the generated one) is accepted. Turn it off once operators sign in
    /// through <see cref="Oidc"/> or hold issued operator tokens: it is for the first start.
    /// </summary>
    /// <value>true.</value>
    public bool BootstrapTokenEnabled { get; set; } = true;

    /// <summary>Operators signing in with JWT bearer tokens from the company's OpenID Connect provider; off without an authority.</summary>
    public OidcOptions Oidc { get; set; } = new();

    /// <summary>How often each silo reads the revoked token ids: a revocation is in force everywhere within this.</summary>
    /// <value>2 seconds.</value>
    public int RevocationRefreshSeconds { get; set; } = 2;
}

/// <summary>Operators from an OpenID Connect provider (configuration section <c>Auth:Oidc</c>).</summary>
public sealed class OidcOptions
{
    /// <summary>The issuer's URL; its <c>/.well-known/openid-configuration</c> names the signing keys. Unset: off.</summary>
    public string? Authority { get; set; }

    /// <summary>The audience the provider puts in tokens for the control plane (required with an authority).</summary>
    public string? Audience { get; set; }

    /// <summary>The claim holding the caller's roles (a string or an array).</summary>
    /// <value><c>roles</c>.</value>
    public string RoleClaim { get; set; } = "roles";

    /// <summary>The role value that makes a caller an operator of the control plane.</summary>
    /// <value><c>controlplane-operator</c>.</value>
    public string OperatorRole { get; set; } = "controlplane-operator";

    /// <summary>Whether the authority must be https (turn off only for a provider on loopback, as in tests).</summary>
    /// <value>true.</value>
    public bool RequireHttpsMetadata { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);
}
