namespace ControlPlane.Server.Options;

/// <summary>How silos find each other (configuration section <c>Clustering</c>).</summary>
public sealed class ClusteringOptions
{
    public const string SectionName = "Clustering";

    /// <summary><c>localhost</c> (one silo, embedded default) or <c>azuretable</c>.</summary>
    /// <value><c>localhost</c>.</value>
    public string Provider { get; set; } = ClusteringProviders.Localhost;

    /// <summary>Azure Table storage connection string; required for <c>azuretable</c>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Orleans cluster id: silos with the same id form one cluster.</summary>
    /// <value><c>controlplane</c>.</value>
    public string ClusterId { get; set; } = "controlplane";

    /// <summary>Orleans service id: keys stored state and reminders; keep it stable across deployments.</summary>
    /// <value><c>controlplane</c>.</value>
    public string ServiceId { get; set; } = "controlplane";

    /// <summary>Silo-to-silo port.</summary>
    /// <value>11111.</value>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Orleans client gateway port.</summary>
    /// <value>30000.</value>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos reach this one at (the pod IP on Kubernetes); by default the host's first address.</summary>
    public string? AdvertisedIPAddress { get; set; }

    public bool IsAzureTable => string.Equals(Provider, ClusteringProviders.AzureTable, StringComparison.OrdinalIgnoreCase);
}

public static class ClusteringProviders
{
    public const string Localhost = "localhost";
    public const string AzureTable = "azuretable";
}
