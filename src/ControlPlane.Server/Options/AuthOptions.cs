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
}
