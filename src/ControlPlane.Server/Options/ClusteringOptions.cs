namespace ControlPlane.Server.Options;

/// <summary>How silos find each other (configuration section <c>Clustering</c>).</summary>
public sealed class ClusteringOptions
{
    public const string SectionName = "Clustering";

    /// <summary><c>localhost</c> (one silo, embedded default) or <c>azuretable</c>.</summary>
    /// <value><c>localhost</c>.</value>
    public string Provider { get; set; } = ClusteringProviders.Localhost;

    /// <summary>
    /// Azure Table storage connection string (with the account key or a SAS); for <c>azuretable</c>, this or
    /// <see cref="AzureTableEndpoint"/> with <see cref="AzureCredential"/>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The Table service endpoint, e.g. <c>https://account.table.core.windows.net</c>, reached with an Entra ID identity
    /// (<see cref="AzureCredential"/>) instead of a key: the identity needs the role Storage Table Data Contributor.
    /// </summary>
    public string? AzureTableEndpoint { get; set; }

    /// <summary>
    /// The identity used with <see cref="AzureTableEndpoint"/>: <c>workload</c> (Kubernetes workload identity: the
    /// AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE the webhook sets), <c>managed</c> (the VM's or
    /// node's managed identity) or <c>default</c> (Azure.Identity's DefaultAzureCredential chain).
    /// </summary>
    public string? AzureCredential { get; set; }

    /// <summary>The client id of a user-assigned managed identity (<c>managed</c>, <c>default</c>) or of the workload identity's app (overrides AZURE_CLIENT_ID).</summary>
    public string? AzureClientId { get; set; }

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

    /// <summary>Azure Table storage reached with an Entra ID credential rather than a connection string.</summary>
    public bool UsesAzureCredential => !string.IsNullOrWhiteSpace(AzureTableEndpoint);
}

public static class AzureCredentials
{
    public const string Workload = "workload";
    public const string Managed = "managed";
    public const string Default = "default";

    public static readonly string[] All = [Workload, Managed, Default];
}

public static class ClusteringProviders
{
    public const string Localhost = "localhost";
    public const string AzureTable = "azuretable";
}
