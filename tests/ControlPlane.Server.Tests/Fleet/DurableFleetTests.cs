using System.Net;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;
using Npgsql;

namespace ControlPlane.Server.Tests.Fleet;

/// <summary>The fleet on PostgreSQL: what survives a restart, and what a heartbeat costs the database.</summary>
public sealed class DurableFleetTests(PostgresFixture postgres)
{
    private static Dictionary<string, string> Durable(string connectionString) => new()
    {
        ["Storage:Provider"] = "postgres",
        ["Storage:ConnectionString"] = connectionString,
        ["Auth:BootstrapToken"] = "durable-fleet-operator-token",
        ["Fleet:HeartbeatIntervalSeconds"] = "1",
    };

    [Fact]
    public async Task Restart_NodeKeepsEnrollmentInventoryAndToken()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(Restart_NodeKeepsEnrollmentInventoryAndToken));
        string token;
        await using (var first = await ServerProcess.StartAsync(Durable(db)))
        {
            using var admin = first.CreateOperatorClient();
            (_, token) = await admin.EnrollAsync("durable-node", cost: 31.25m);
            using var node = first.CreateClient(token);
            await node.HeartbeatAsync("durable-node", 1, ApiClient.Gpus(8, "NVIDIA H200", 143771));
            await first.KillAsync();
        }

        await using var second = await ServerProcess.StartAsync(Durable(db));
        using var admin2 = second.CreateOperatorClient();
        var view = await admin2.GetJsonAsync("/admin/v1/nodes/durable-node");

        Assert.Equal("h200-141gb", view["sku"]!.GetValue<string>());
        Assert.Equal(8, view["gpuCount"]!.GetValue<int>());
        Assert.Equal(31.25m, view["hourlyCostUsd"]!.GetValue<decimal>());
        Assert.Equal(8, (await admin2.GetJsonAsync("/admin/v1/pools")).AsArray().Single()!["gpusTotal"]!.GetValue<int>());
        using var node2 = second.CreateClient(token);
        Assert.Equal(HttpStatusCode.OK, (await node2.HeartbeatAsync("durable-node", 1, ApiClient.Gpus(8, "NVIDIA H200", 143771), session: "after-restart")).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin2.PostAsync("/admin/v1/nodes", System.Net.Http.Json.JsonContent.Create(new { nodeId = "durable-node", region = "eu-west", provider = "own-dc", ownership = "owned", hourlyCostUsd = 1 }))).StatusCode);
    }

    [Fact]
    public async Task Restart_DeadNodeIsStillFoundDead()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(Restart_DeadNodeIsStillFoundDead));
        var settings = Durable(db);
        settings["Fleet:WatchdogPeriodSeconds"] = "2";
        await using (var first = await ServerProcess.StartAsync(settings))
        {
            using var admin = first.CreateOperatorClient();
            var (_, token) = await admin.EnrollAsync("durable-dead");
            using var node = first.CreateClient(token);
            await node.HeartbeatAsync("durable-dead", 1, ApiClient.Gpus(8));
            await first.KillAsync();
        }

        // Nobody calls the node after the restart: only its durable watchdog can bring it back and find it dead.
        await using var second = await ServerProcess.StartAsync(settings);
        await using var connection = new NpgsqlConnection(db);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await Poll.UntilAsync(
            () => NodeStateVersionAsync(connection, "durable-dead"),
            version => version >= 4,
            TimeSpan.FromSeconds(60),
            "the watchdog to store the node's suspect and down states");
        using var admin2 = second.CreateOperatorClient();
        Assert.Equal("down", await admin2.NodeStatusAsync("durable-dead"));
    }

    [Fact]
    public async Task Heartbeat_ThatChangesNothing_DoesNotWriteToTheDatabase()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(Heartbeat_ThatChangesNothing_DoesNotWriteToTheDatabase));
        var settings = Durable(db);
        settings["Fleet:HeartbeatIntervalSeconds"] = "60";
        await using var server = await ServerProcess.StartAsync(settings);
        using var admin = server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("quiet-node");
        using var node = server.CreateClient(token);
        await node.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(8));
        await using var connection = new NpgsqlConnection(db);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        var before = await NodeStateVersionAsync(connection, nodeId);
        var writesBefore = await TotalWritesAsync(connection);

        for (var sequence = 2; sequence <= 50; sequence++)
        {
            // Live readings change (utilization, temperature); the inventory does not.
            Assert.Equal(HttpStatusCode.OK, (await node.HeartbeatAsync(nodeId, sequence, ApiClient.Gpus(8))).StatusCode);
        }

        Assert.Equal(before, await NodeStateVersionAsync(connection, nodeId));
        Assert.Equal(writesBefore, await TotalWritesAsync(connection));

        // A real change is written once.
        await node.HeartbeatAsync(nodeId, 51, ApiClient.Gpus(7));
        Assert.Equal(before + 1, await NodeStateVersionAsync(connection, nodeId));
    }

    [Fact]
    public async Task MigrateCommand_AppliesOnceThenReportsUpToDate()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(MigrateCommand_AppliesOnceThenReportsUpToDate));
        var settings = new Dictionary<string, string> { ["Storage:Provider"] = "postgres", ["Storage:ConnectionString"] = db };

        await using (var first = await ServerProcess.StartAsync(settings, waitUntilReady: false, arguments: ["migrate"]))
        {
            Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("applied 0001", first.Output);
        }

        await using var second = await ServerProcess.StartAsync(settings, waitUntilReady: false, arguments: ["migrate"]);
        Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("database is up to date", second.Output);
    }

    [Fact]
    public async Task Start_MigrateOnStartupOffAndDatabaseNotMigrated_ExitsWithClearMessage()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(Start_MigrateOnStartupOffAndDatabaseNotMigrated_ExitsWithClearMessage));
        var settings = Durable(db);
        settings["Storage:MigrateOnStartup"] = "false";

        await using var server = await ServerProcess.StartAsync(settings, waitUntilReady: false);

        Assert.Equal(1, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("not migrated: run 'ControlPlane.Server migrate'", server.Output);
    }

    internal static async Task<int> NodeStateVersionAsync(NpgsqlConnection connection, string nodeId)
    {
        await using var command = new NpgsqlCommand(
            "SELECT coalesce(max(Version), 0) FROM OrleansGrainState WHERE GrainTypeString = 'node' AND GrainIdExtensionString = @key",
            connection);
        command.Parameters.AddWithValue("key", "node:" + nodeId);
        return Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<long> TotalWritesAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("SELECT coalesce(sum(Version), 0) FROM OrleansGrainState", connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
