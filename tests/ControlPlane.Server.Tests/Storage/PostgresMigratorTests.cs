using ControlPlane.Server.Storage;
using ControlPlane.Testing;
using Npgsql;
using Xunit;

namespace ControlPlane.Server.Tests.Storage;

public sealed class PostgresMigratorTests(PostgresFixture postgres)
{
    private static readonly string[] AllMigrations = ["0001_orleans_storage", "0002_orleans_reminders", "0003_usage_buckets"];

    private static readonly string[] OrleansQueryKeys =
    [
        "ClearStorageKey", "DeleteReminderRowKey", "DeleteReminderRowsKey", "DeleteStorageKey",
        "ReadFromStorageKey", "ReadRangeRows1Key", "ReadRangeRows2Key", "ReadReminderRowKey",
        "ReadReminderRowsKey", "UpsertReminderRowKey", "WriteToStorageKey",
    ];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Scripts_Embedded_AreNumberedInOrder()
    {
        Assert.Equal(AllMigrations, PostgresMigrator.Scripts.Select(s => s.Name));
        Assert.Equal([1, 2, 3], PostgresMigrator.Scripts.Select(s => s.Version));
    }

    [Fact]
    public async Task MigrateAsync_FreshDatabase_AppliesAllScripts()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(MigrateAsync_FreshDatabase_AppliesAllScripts), Ct);

        var applied = await new PostgresMigrator().MigrateAsync(db, Ct);

        Assert.Equal(AllMigrations, applied);
        Assert.Equal(OrleansQueryKeys, await QueryKeysAsync(db));
        Assert.Equal(
            [(1, "0001_orleans_storage"), (2, "0002_orleans_reminders"), (3, "0003_usage_buckets")],
            await HistoryAsync(db));
    }

    [Fact]
    public async Task MigrateAsync_AlreadyMigrated_AppliesNothingAndKeepsSchema()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(MigrateAsync_AlreadyMigrated_AppliesNothingAndKeepsSchema), Ct);
        var migrator = new PostgresMigrator();
        await migrator.MigrateAsync(db, Ct);
        await Sql.ExecuteAsync(db, """
            INSERT INTO OrleansReminders (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
            VALUES ('svc', 'grain', 'r', now(), 60000, 7, 0)
            """);

        var applied = await migrator.MigrateAsync(db, Ct);

        Assert.Empty(applied);
        Assert.Equal(OrleansQueryKeys, await QueryKeysAsync(db));
        Assert.Equal(AllMigrations.Length, (await HistoryAsync(db)).Count);
        Assert.Equal(1L, await Sql.ScalarAsync<long>(db, "SELECT count(*) FROM OrleansReminders"));
    }

    [Fact]
    public async Task MigrateAsync_ThreeConcurrentCallers_ApplyEachScriptOnce()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(MigrateAsync_ThreeConcurrentCallers_ApplyEachScriptOnce), Ct);

        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => new PostgresMigrator().MigrateAsync(db, Ct), Ct)));

        Assert.Equal(AllMigrations, results.SelectMany(r => r).Order(StringComparer.Ordinal));
        Assert.Equal(AllMigrations.Length, (await HistoryAsync(db)).Count);
        Assert.Equal(OrleansQueryKeys, await QueryKeysAsync(db));
    }

    [Fact]
    public async Task MigrateAsync_AppliedScriptChanged_ThrowsNamingTheScript()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(MigrateAsync_AppliedScriptChanged_ThrowsNamingTheScript), Ct);
        var migrator = new PostgresMigrator();
        await migrator.MigrateAsync(db, Ct);
        await Sql.ExecuteAsync(db, $"UPDATE {PostgresMigrator.HistoryTable} SET checksum = 'tampered' WHERE version = 1");

        var error = await Assert.ThrowsAsync<PostgresSchemaException>(() => migrator.MigrateAsync(db, Ct));

        Assert.Contains("0001_orleans_storage", error.Message, StringComparison.Ordinal);
        Assert.Contains("changed after it was applied", error.Message, StringComparison.Ordinal);
        Assert.Contains("tampered", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MigrateAsync_NewScriptAfterApplied_AppliesOnlyTheNewOne()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(MigrateAsync_NewScriptAfterApplied_AppliesOnlyTheNewOne), Ct);
        await new PostgresMigrator().MigrateAsync(db, Ct);
        var next = MigrationScript.Create("0100_probe.sql", "CREATE TABLE probe (id integer PRIMARY KEY);");

        var applied = await new PostgresMigrator([.. PostgresMigrator.Scripts, next]).MigrateAsync(db, Ct);

        Assert.Equal(["0100_probe"], applied);
        Assert.Equal(0L, await Sql.ScalarAsync<long>(db, "SELECT count(*) FROM probe"));
    }

    [Fact]
    public async Task MigrateAsync_ScriptFails_RollsBackThatScriptOnly()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(MigrateAsync_ScriptFails_RollsBackThatScriptOnly), Ct);
        var broken = MigrationScript.Create("0100_broken.sql", "CREATE TABLE half (id integer); SELECT no_such_function();");
        var migrator = new PostgresMigrator([.. PostgresMigrator.Scripts, broken]);

        await Assert.ThrowsAsync<PostgresException>(() => migrator.MigrateAsync(db, Ct));

        Assert.Equal(AllMigrations.Length, (await HistoryAsync(db)).Count);
        Assert.Null(await Sql.ScalarAsync<string>(db, "SELECT to_regclass('half')::text"));
    }

    private static async Task<string[]> QueryKeysAsync(string db)
    {
        var keys = new List<string>();
        await using var connection = new NpgsqlConnection(db);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT QueryKey FROM OrleansQuery ORDER BY QueryKey COLLATE \"C\"", connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            keys.Add(reader.GetString(0));
        }

        return [.. keys];
    }

    private static async Task<List<(int Version, string Name)>> HistoryAsync(string db)
    {
        var rows = new List<(int, string)>();
        await using var connection = new NpgsqlConnection(db);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand($"SELECT version, name FROM {PostgresMigrator.HistoryTable} ORDER BY version", connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            rows.Add((reader.GetInt32(0), reader.GetString(1)));
        }

        return rows;
    }
}
