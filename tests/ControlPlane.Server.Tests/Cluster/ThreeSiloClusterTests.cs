using System.Net;
using ControlPlane.Server.Tests.Fleet;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;
using Npgsql;

namespace ControlPlane.Server.Tests.Cluster;

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<PostgresFixture>, ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Cluster: PostgreSQL and Azurite";
}

/// <summary>
/// Production mode for real: three server processes clustered through Azure Table storage (Azurite),
/// grain state and reminders in PostgreSQL. One silo is killed; nodes keep their state and failure
/// detection keeps working for nodes whose grains lived on the dead silo.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ThreeSiloClusterTests(PostgresFixture postgres, AzuriteFixture azurite)
{
    private const string OperatorToken = "three-silo-cluster-operator-token";
    private const int MaxNodes = 30;

    [Fact]
    public async Task KillOneSilo_NodesKeepStateAndDeadNodesAreStillDetected()
    {
        var ct = TestContext.Current.CancellationToken;
        var db = await postgres.CreateDatabaseAsync("three_silos", ct);
        var settings = new Dictionary<string, string>
        {
            ["Storage:Provider"] = "postgres",
            ["Storage:ConnectionString"] = db,
            ["Clustering:Provider"] = "azuretable",
            ["Clustering:ConnectionString"] = azurite.ConnectionString,
            ["Clustering:ClusterId"] = "cluster-" + Guid.NewGuid().ToString("N")[..8],
            ["Clustering:ServiceId"] = "three-silo-test",
            ["Clustering:AdvertisedIPAddress"] = "127.0.0.1",
            ["Auth:BootstrapToken"] = OperatorToken,
            ["Fleet:HeartbeatIntervalSeconds"] = "1",
            ["Fleet:WatchdogPeriodSeconds"] = "5",
        };

        await using var a = await ServerProcess.StartAsync(settings, ct: ct);
        await using var b = await ServerProcess.StartAsync(settings, ct: ct);
        await using var c = await ServerProcess.StartAsync(settings, ct: ct);
        ServerProcess[] silos = [a, b, c];

        // Enroll nodes through all three silos until several node grains live on silo c (a grain logs
        // its enrollment on the silo it is activated on); placement is Orleans' choice.
        var tokens = new List<string>();
        bool OnC(int i) => c.Output.Contains($"Node {NodeId(i)} enrolled", StringComparison.Ordinal);
        while (tokens.Count < MaxNodes && (tokens.Count < 6 || Enumerable.Range(0, tokens.Count).Count(OnC) < 3))
        {
            var i = tokens.Count;
            using var admin = silos[i % 3].CreateOperatorClient();
            var (_, token) = await admin.EnrollAsync(NodeId(i), region: "cluster-region");
            tokens.Add(token);
            using var node = silos[(i + 1) % 3].CreateClient(token);
            Assert.Equal(HttpStatusCode.OK, (await node.HeartbeatAsync(NodeId(i), 1, ApiClient.Gpus(8))).StatusCode);
        }

        var onC = Enumerable.Range(0, tokens.Count).Where(OnC).ToArray();
        Assert.True(onC.Length >= 3, $"only {onC.Length} of {tokens.Count} node grains were placed on silo c");
        // Two nodes whose grains die with silo c, and one elsewhere, fall silent; the rest keep heartbeating.
        var silent = onC.Take(2).Append(Enumerable.Range(0, tokens.Count).First(i => !OnC(i))).ToHashSet();
        var talking = Enumerable.Range(0, tokens.Count).Where(i => !silent.Contains(i)).ToArray();

        await c.KillAsync();

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var heartbeats = Task.Run(() => KeepHeartbeatingAsync([a, b], tokens, talking, stop.Token), ct);

        // Only the database is watched for the silent nodes: no grain call may wake them up, so their
        // detection rests on the durable watchdog and on grains re-activated on the surviving silos.
        await using (var connection = new NpgsqlConnection(db))
        {
            await connection.OpenAsync(ct);
            foreach (var i in silent)
            {
                var nodeId = NodeId(i);
                await Poll.UntilAsync(
                    () => DurableFleetTests.NodeStateVersionAsync(connection, nodeId),
                    version => version >= 4,
                    TimeSpan.FromSeconds(150),
                    $"{nodeId} to be stored suspect and then down after the silo died");
            }
        }

        using var survivor = a.CreateOperatorClient();
        for (var i = 0; i < tokens.Count; i++)
        {
            var view = await survivor.GetJsonAsync($"/admin/v1/nodes/{NodeId(i)}");
            Assert.Equal(8, view["gpuCount"]!.GetValue<int>());
            Assert.Equal("h100-sxm-80gb", view["sku"]!.GetValue<string>());
            Assert.Equal(silent.Contains(i) ? "down" : "ready", view["status"]!.GetValue<string>());
        }

        await stop.CancelAsync();
        await heartbeats;
        var pool = (await survivor.GetJsonAsync("/admin/v1/pools")).AsArray().Single()!;
        Assert.Equal(tokens.Count * 8, pool["gpusTotal"]!.GetValue<int>());
        Assert.Equal(silent.Count, pool["nodesByStatus"]!["down"]!.GetValue<int>());
    }

    private static string NodeId(int i) => $"cluster-node-{i}";

    private static async Task KeepHeartbeatingAsync(ServerProcess[] silos, List<string> tokens, int[] nodes, CancellationToken ct)
    {
        var clients = nodes
            .Select(i => (Node: i, Client: silos[i % silos.Length].CreateClient(tokens[i])))
            .ToArray();
        foreach (var (_, client) in clients)
        {
            client.Timeout = TimeSpan.FromSeconds(3);
        }

        long sequence = 2;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var beats = clients.Select(async c =>
                {
                    var (i, client) = c;
                    try
                    {
                        using var _ = await client.HeartbeatAsync(NodeId(i), sequence, ApiClient.Gpus(8));
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        // While the cluster has not yet declared the silo dead, calls to grains that lived there fail: an agent retries.
                    }
                });
                await Task.WhenAll(beats);
                sequence++;
                await Task.Delay(500, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            foreach (var (_, client) in clients)
            {
                client.Dispose();
            }
        }
    }
}
