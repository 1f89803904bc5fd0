using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using ControlPlane.Server.Options;

namespace ControlPlane.Server.Hosting;

/// <summary>The Table service client of Azure Table clustering: from a connection string, or an endpoint and an Entra ID identity.</summary>
public static class AzureTableClients
{
    /// <param name="credential">Replaces the configured identity (tests); null builds the one <see cref="ClusteringOptions.AzureCredential"/> names.</param>
    public static TableServiceClient Create(ClusteringOptions clustering, TableClientOptions? options = null, TokenCredential? credential = null)
    {
        options ??= new TableClientOptions();
        return clustering.UsesAzureCredential
            ? new TableServiceClient(new Uri(clustering.AzureTableEndpoint!), credential ?? Credential(clustering), options)
            : new TableServiceClient(clustering.ConnectionString, options);
    }

    /// <summary>The identity <see cref="ClusteringOptions.AzureCredential"/> names; validated at start, so anything else is a bug.</summary>
    public static TokenCredential Credential(ClusteringOptions clustering)
    {
        var clientId = string.IsNullOrWhiteSpace(clustering.AzureClientId) ? null : clustering.AzureClientId;
        return clustering.AzureCredential?.ToLowerInvariant() switch
        {
            AzureCredentials.Workload => new WorkloadIdentityCredential(new WorkloadIdentityCredentialOptions { ClientId = clientId }),
            AzureCredentials.Managed => new ManagedIdentityCredential(clientId is null ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId)),
            AzureCredentials.Default => new DefaultAzureCredential(new DefaultAzureCredentialOptions
            {
                ManagedIdentityClientId = clientId,
                WorkloadIdentityClientId = clientId,
            }),
            var other => throw new InvalidOperationException($"Unknown Clustering:AzureCredential '{other}'."),
        };
    }

    /// <summary>Where the cluster's membership lives, for messages: the endpoint, never the connection string's key.</summary>
    public static string Describe(ClusteringOptions clustering) =>
        clustering.UsesAzureCredential
            ? $"{clustering.AzureTableEndpoint} with the {clustering.AzureCredential!.ToLowerInvariant()} identity"
            : "the connection string's account";
}
