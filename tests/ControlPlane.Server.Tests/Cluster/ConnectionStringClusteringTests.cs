using Azure.Data.Tables;
using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Cluster;

/// <summary>Azure Table clustering with a connection string (account key), as before identities were offered.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ConnectionStringClusteringTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Server_ConnectionString_JoinsItsClusterInAzurite()
    {
        var ct = TestContext.Current.CancellationToken;
        var clusterId = "key-" + Guid.NewGuid().ToString("N")[..8];

        await using var server = await ServerProcess.StartAsync(
            new Dictionary<string, string>
            {
                ["Clustering:Provider"] = "azuretable",
                ["Clustering:ConnectionString"] = azurite.ConnectionString,
                ["Clustering:ClusterId"] = clusterId,
                ["Clustering:AdvertisedIPAddress"] = "127.0.0.1",
                ["Auth:BootstrapToken"] = "connection-string-operator-token",
            },
            ct: ct);

        var membership = new TableClient(azurite.ConnectionString, "OrleansSiloInstances");
        var rows = await Poll.UntilAsync(
            async () => await membership.QueryAsync<TableEntity>(e => e.PartitionKey == clusterId, cancellationToken: ct).ToListAsync(ct),
            r => r.Any(e => e.GetString("Status") == "Active"),
            TimeSpan.FromSeconds(30),
            "the silo's Active row in the membership table");
        Assert.Contains(rows, e => e.GetString("Address") == "127.0.0.1");
        Assert.Contains("clustering azuretable", server.Output);
    }
}
