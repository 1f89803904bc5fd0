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
    private const int Nodes = 12;

    [Fact]
    public async Task KillOneSilo_NodesKeepStateAndDeadNodesAreStillDetected()
    {
        var ct = TestContext.Current.CancellationToken;
        var db = await postgres.CreateDatabaseAsync("three_silos", ct);
        var settings = ClusterSettings.For(db, azurite, "three-silo", OperatorToken);
        settings["Fleet:HeartbeatIntervalSeconds"] = "1";
        settings["Fleet:WatchdogPeriodSeconds"] = "5";

        await using var a = await ServerProcess.StartAsync(settings, ct: ct);
        await using var b = await ServerProcess.StartAsync(settings, ct: ct);
        await using var c = await ServerProcess.StartAsync(settings, ct: ct);
        ServerProcess[] silos = [a, b, c];

        // Enroll nodes through all three silos. Orleans places each node grain; a grain logs its
        // enrollment on the silo it is activated on, so the logs say where each one lives.
        var tokens = new List<string>();
        for (var i = 0; i < Nodes; i++)
        {
            using var admin = silos[i % 3].CreateOperatorClient();
            var (_, token) = await admin.EnrollAsync(NodeId(i), region: "cluster-region");
            tokens.Add(token);
            using var node = silos[(i + 1) % 3].CreateClient(token);
            Assert.Equal(HttpStatusCode.OK, (await node.HeartbeatAsync(NodeId(i), 1, ApiClient.Gpus(8))).StatusCode);
        }

        bool On(ServerProcess silo, int i) => silo.Output.Contains($"Node {NodeId(i)} enrolled", StringComparison.Ordinal);

        // Kill the silo holding the most node grains (placement is Orleans' choice, and it avoids a silo
        // that has just started): two of its nodes, and one elsewhere when there is one, fall silent.
        var victim = silos.MaxBy(silo => Enumerable.Range(0, Nodes).Count(i => On(silo, i)))!;
        var onVictim = Enumerable.Range(0, Nodes).Where(i => On(victim, i)).ToArray();
        Assert.True(onVictim.Length >= 2, $"the busiest silo holds only {onVictim.Length} of {Nodes} node grains");
        var silent = onVictim.Take(2).Concat(Enumerable.Range(0, Nodes).Where(i => !On(victim, i)).Take(1)).ToHashSet();
        var talking = Enumerable.Range(0, Nodes).Where(i => !silent.Contains(i)).ToArray();
        var survivors = silos.Where(silo => silo != victim).ToArray();

        await victim.KillAsync();

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var heartbeats = Task.Run(() => KeepHeartbeatingAsync(survivors, tokens, talking, stop.Token), ct);

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

        using var survivor = survivors[0].CreateOperatorClient();
        for (var i = 0; i < Nodes; i++)
        {
            var view = await survivor.GetJsonAsync($"/admin/v1/nodes/{NodeId(i)}");
            Assert.Equal(8, view["gpuCount"]!.GetValue<int>());
            Assert.Equal("h100-sxm-80gb", view["sku"]!.GetValue<string>());
            Assert.Equal(silent.Contains(i) ? "down" : "ready", view["status"]!.GetValue<string>());
        }

        await stop.CancelAsync();
        await heartbeats;
        // A node whose pool grain died with the silo tells the pool again on its next check.
        var pool = await Poll.UntilAsync(
            async () => (await survivor.GetJsonAsync("/admin/v1/pools")).AsArray().Single()!,
            p => p["nodesByStatus"]!["down"]?.GetValue<int>() == silent.Count,
            TimeSpan.FromSeconds(30),
            "the pool to count the silent nodes down");
        Assert.Equal(Nodes * 8, pool["gpusTotal"]!.GetValue<int>());
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
