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

    /// <summary>How often each silo reads the revoked token ids: a revocation is in force everywhere within this.</summary>
    /// <value>2 seconds.</value>
    public int RevocationRefreshSeconds { get; set; } = 2;
}
