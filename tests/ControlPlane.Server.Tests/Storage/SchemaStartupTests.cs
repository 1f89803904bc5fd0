using System.Net;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;
using Npgsql;
using Xunit;

namespace ControlPlane.Server.Tests.Storage;

/// <summary>The server process and its <c>migrate</c> command on databases that are not as the migrations left them.</summary>
public sealed class SchemaStartupTests(PostgresFixture postgres)
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    private static Dictionary<string, string> Durable(string db, bool migrateOnStartup = true) => new()
    {
        ["Storage:Provider"] = "postgres",
        ["Storage:ConnectionString"] = db,
        ["Storage:MigrateOnStartup"] = migrateOnStartup ? "true" : "false",
        ["Auth:BootstrapToken"] = "schema-startup-operator-token",
    };

    [Fact]
    public async Task MigrateCommand_OfficialSchema_ExitsNonZeroWithAdviceAndLeavesNoHistoryTable()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(MigrateCommand_OfficialSchema_ExitsNonZeroWithAdviceAndLeavesNoHistoryTable));
        await Sql.ExecuteAsync(db, PostgresSchemaTests.OfficialSchema);

        await using var migrate = await ServerProcess.StartAsync(Durable(db), waitUntilReady: false, arguments: ["migrate"]);

        Assert.Equal(1, await migrate.WaitForExitAsync(ExitTimeout));
        Assert.Contains("already holds Orleans' official ADO.NET schema", migrate.Output);
        Assert.Contains("Storage:UnmanagedSchema=true", migrate.Output);
        Assert.DoesNotContain("42P07", migrate.Output);
        Assert.DoesNotContain("   at ", migrate.Output);
        Assert.False(await ExistsAsync(db, PostgresMigrator.HistoryTable));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Start_QueryCallsAFunctionThatDoesNotExist_ExitsNamingTheKeyBeforeReady(bool migrateOnStartup)
    {
        var db = await postgres.CreateDatabaseAsync($"{nameof(Start_QueryCallsAFunctionThatDoesNotExist_ExitsNamingTheKeyBeforeReady)}_{migrateOnStartup}");
        await new PostgresMigrator().MigrateAsync(db, TestContext.Current.CancellationToken);
        await Sql.ExecuteAsync(db, "UPDATE OrleansQuery SET QueryText = 'SELECT NewGrainStateVersion FROM no_such_function(@GrainIdHash)' WHERE QueryKey = 'WriteToStorageKey'");

        await using var server = await ServerProcess.StartAsync(Durable(db, migrateOnStartup), waitUntilReady: false);

        Assert.Equal(1, await server.WaitForExitAsync(ExitTimeout));
        Assert.Contains("OrleansQuery holds queries WriteToStorageKey that differ from what the migrations installed", server.Output);
        Assert.DoesNotContain("listening on", server.Output);
    }

    [Fact]
    public async Task MigrateRestoreQueries_OverwrittenQuery_WritesItBackAndTheServerStarts()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(MigrateRestoreQueries_OverwrittenQuery_WritesItBackAndTheServerStarts));
        await new PostgresMigrator().MigrateAsync(db, TestContext.Current.CancellationToken);
        await Sql.ExecuteAsync(db, "UPDATE OrleansQuery SET QueryText = 'SELECT 1' WHERE QueryKey = 'ReadFromStorageKey'");

        await using (var plain = await ServerProcess.StartAsync(Durable(db), waitUntilReady: false, arguments: ["migrate"]))
        {
            Assert.Equal(1, await plain.WaitForExitAsync(ExitTimeout));
            Assert.Contains("migrate --restore-queries", plain.Output);
        }

        await using (var restore = await ServerProcess.StartAsync(Durable(db), waitUntilReady: false, arguments: ["migrate", "--restore-queries"]))
        {
            Assert.Equal(0, await restore.WaitForExitAsync(ExitTimeout));
            Assert.Contains("restored queries ReadFromStorageKey", restore.Output);
        }

        await using var server = await ServerProcess.StartAsync(Durable(db, migrateOnStartup: false));
        using var admin = server.CreateOperatorClient();
        var (nodeId, _) = await admin.EnrollAsync("restored-node");
        using var view = await admin.GetAsync($"/admin/v1/nodes/{nodeId}", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, view.StatusCode);
    }

    [Fact]
    public async Task Start_UnmanagedSchemaAllowed_ServesAndWarns()
    {
        // A schema these migrations did not record (as Orleans' own scripts leave one), whose queries work.
        var db = await postgres.CreateDatabaseAsync(nameof(Start_UnmanagedSchemaAllowed_ServesAndWarns));
        await new PostgresMigrator().MigrateAsync(db, TestContext.Current.CancellationToken);
        await Sql.ExecuteAsync(db, $"DROP TABLE {PostgresMigrator.HistoryTable}");
        var settings = Durable(db, migrateOnStartup: false);

        await using (var refused = await ServerProcess.StartAsync(settings, waitUntilReady: false))
        {
            Assert.Equal(1, await refused.WaitForExitAsync(ExitTimeout));
            Assert.Contains("holds an OrleansQuery table that this project's migrations did not create", refused.Output);
        }

        settings["Storage:UnmanagedSchema"] = "true";
        await using var server = await ServerProcess.StartAsync(settings);
        using var admin = server.CreateOperatorClient();
        var (nodeId, _) = await admin.EnrollAsync("unmanaged-node");

        Assert.Contains("WARNING The PostgreSQL database holds an OrleansQuery table", server.Output);
        using var view = await admin.GetAsync($"/admin/v1/nodes/{nodeId}", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, view.StatusCode);
    }

    [Fact]
    public async Task Start_UnmanagedSchemaWithMigrateOnStartup_ExitsWithClearMessage()
    {
        var settings = Durable("Host=127.0.0.1;Database=unused;Username=postgres");
        settings["Storage:UnmanagedSchema"] = "true";

        await using var server = await ServerProcess.StartAsync(settings, waitUntilReady: false);

        Assert.Equal(1, await server.WaitForExitAsync(ExitTimeout));
        Assert.Contains("Storage:UnmanagedSchema=true needs Storage:MigrateOnStartup=false", server.Output);
    }

    private static async Task<bool> ExistsAsync(string db, string table)
    {
        await using var connection = new NpgsqlConnection(db);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand("SELECT to_regclass(@t) IS NOT NULL", connection);
        command.Parameters.AddWithValue("t", table);
        return (bool)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }
}
