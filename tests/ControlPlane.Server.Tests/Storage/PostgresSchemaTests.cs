using ControlPlane.Server.Storage;
using ControlPlane.Testing;
using Npgsql;
using Xunit;

namespace ControlPlane.Server.Tests.Storage;

/// <summary>
/// What the migrator and the start-up check make of a database: one that holds Orleans' official ADO.NET
/// schema, one whose queries were changed by hand, and one these migrations made and nobody touched.
/// </summary>
public sealed class PostgresSchemaTests(PostgresFixture postgres)
{
    /// <summary>
    /// The shape Orleans' own PostgreSQL scripts leave (Main, Persistence, Reminders, Clustering): their
    /// table names, a query table with their constraint name, and query rows. Written for this test from
    /// the table names alone; the official texts are not needed to be refused.
    /// </summary>
    internal const string OfficialSchema = """
        CREATE TABLE OrleansQuery (QueryKey varchar(64) NOT NULL, QueryText varchar(8000) NOT NULL,
            CONSTRAINT OrleansQuery_Key PRIMARY KEY (QueryKey));
        CREATE TABLE OrleansStorage (grainidhash integer NOT NULL, grainidn0 bigint NOT NULL, grainidn1 bigint NOT NULL,
            graintypehash integer NOT NULL, graintypestring varchar(512) NOT NULL, grainidextensionstring varchar(512),
            serviceid varchar(150) NOT NULL, payloadbinary bytea, modifiedon timestamp NOT NULL, version integer);
        CREATE TABLE OrleansRemindersTable (ServiceId varchar(150) NOT NULL, GrainId varchar(150) NOT NULL,
            ReminderName varchar(150) NOT NULL, StartTime timestamp NOT NULL, Period bigint NOT NULL,
            GrainHash integer NOT NULL, Version integer NOT NULL, PRIMARY KEY (ServiceId, GrainId, ReminderName));
        CREATE TABLE OrleansMembershipVersionTable (DeploymentId varchar(150) NOT NULL PRIMARY KEY,
            Timestamp timestamp NOT NULL DEFAULT now(), Version integer NOT NULL DEFAULT 0);
        INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
            ('ReadFromStorageKey', 'SELECT payloadbinary AS PayloadBinary, version AS Version FROM OrleansStorage WHERE serviceid = @ServiceId'),
            ('WriteToStorageKey', 'SELECT * FROM writetostorage(@GrainIdHash, @GrainStateVersion, @PayloadBinary)');
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task MigrateAsync_DatabaseHoldsOfficialSchema_RefusesNamingItAndCreatesNothing()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(MigrateAsync_DatabaseHoldsOfficialSchema_RefusesNamingItAndCreatesNothing), Ct);
        await Sql.ExecuteAsync(db, OfficialSchema);

        var error = await Assert.ThrowsAsync<PostgresSchemaException>(() => new PostgresMigrator().MigrateAsync(db, Ct));

        Assert.Contains("already holds Orleans' official ADO.NET schema (OrleansQuery, orleansstorage, orleansreminderstable, orleansmembershipversiontable)", error.Message, StringComparison.Ordinal);
        Assert.Contains("Storage:MigrateOnStartup=false", error.Message, StringComparison.Ordinal);
        Assert.Contains("Storage:UnmanagedSchema=true", error.Message, StringComparison.Ordinal);
        Assert.Contains("adopt it", error.Message, StringComparison.Ordinal);
        Assert.Null(await Sql.ScalarAsync<string>(db, $"SELECT to_regclass('{PostgresMigrator.HistoryTable}')::text"));
        Assert.Null(await Sql.ScalarAsync<string>(db, "SELECT to_regclass('orleansgrainstate')::text"));
        Assert.Equal(2L, await Sql.ScalarAsync<long>(db, "SELECT count(*) FROM OrleansQuery"));
    }

    [Fact]
    public async Task MigrateAsync_OfficialSchemaAndEmptyHistoryLeftByAnOlderBuild_StillRefuses()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(MigrateAsync_OfficialSchemaAndEmptyHistoryLeftByAnOlderBuild_StillRefuses), Ct);
        await Sql.ExecuteAsync(db, OfficialSchema + $"CREATE TABLE {PostgresMigrator.HistoryTable} (version integer PRIMARY KEY, name text, applied_at timestamptz, checksum text);");

        await Assert.ThrowsAsync<PostgresSchemaException>(() => new PostgresMigrator().MigrateAsync(db, Ct));

        Assert.Null(await Sql.ScalarAsync<string>(db, "SELECT to_regclass('orleansgrainstate')::text"));
    }

    [Fact]
    public async Task InstalledQueries_EqualWhatAFreshMigrationLeavesInOrleansQuery()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(InstalledQueries_EqualWhatAFreshMigrationLeavesInOrleansQuery), Ct);
        await new PostgresMigrator().MigrateAsync(db, Ct);

        var expected = PostgresSchema.InstalledQueries(PostgresMigrator.Scripts);

        Assert.Equal(
            expected.OrderBy(q => q.Key, StringComparer.Ordinal).Select(q => (q.Key, q.Value.ReplaceLineEndings("\n"))),
            (await QueriesAsync(db)).Select(q => (q.Key, q.Text.ReplaceLineEndings("\n"))));
        Assert.Equal(PostgresSchema.RequiredQueryKeys.Order(StringComparer.Ordinal), expected.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task CheckQueries_FreshlyMigrated_PassesWithoutWarning()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(CheckQueries_FreshlyMigrated_PassesWithoutWarning), Ct);
        await new PostgresMigrator().MigrateAsync(db, Ct);

        Assert.Null(await CheckAsync(db, allowUnmanaged: false));
    }

    [Fact]
    public async Task CheckQueries_QueryOverwritten_RefusesNamingTheKey()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(CheckQueries_QueryOverwritten_RefusesNamingTheKey), Ct);
        await new PostgresMigrator().MigrateAsync(db, Ct);
        await Sql.ExecuteAsync(db, "UPDATE OrleansQuery SET QueryText = 'SELECT NewGrainStateVersion FROM no_such_function(@GrainIdHash)' WHERE QueryKey = 'WriteToStorageKey'");

        var error = await Assert.ThrowsAsync<PostgresSchemaException>(() => CheckAsync(db, allowUnmanaged: false));

        Assert.Contains("OrleansQuery holds queries WriteToStorageKey that differ from what the migrations installed", error.Message, StringComparison.Ordinal);
        Assert.Contains("migrate --restore-queries", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckQueries_QueryDeleted_RefusesNamingTheKey()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(CheckQueries_QueryDeleted_RefusesNamingTheKey), Ct);
        await new PostgresMigrator().MigrateAsync(db, Ct);
        await Sql.ExecuteAsync(db, "DELETE FROM OrleansQuery WHERE QueryKey IN ('ReadRangeRows2Key', 'ClearStorageKey')");

        var error = await Assert.ThrowsAsync<PostgresSchemaException>(() => CheckAsync(db, allowUnmanaged: false));

        Assert.Contains("OrleansQuery lacks the queries ClearStorageKey, ReadRangeRows2Key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckQueries_MigrationMissing_RefusesNamingIt()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(CheckQueries_MigrationMissing_RefusesNamingIt), Ct);
        await new PostgresMigrator([PostgresMigrator.Scripts[0]]).MigrateAsync(db, Ct);

        var error = await Assert.ThrowsAsync<PostgresSchemaException>(() => CheckAsync(db, allowUnmanaged: false));

        Assert.Contains("lacks migrations 0002_orleans_reminders, 0003_usage_buckets: run 'ControlPlane.Server migrate'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckQueries_NewerBuildMigratedAndChangedAQuery_WarnsInsteadOfRefusing()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(CheckQueries_NewerBuildMigratedAndChangedAQuery_WarnsInsteadOfRefusing), Ct);
        var newer = MigrationScript.Create("0099_newer.sql", """
            INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
            ('ReadReminderRowsKey', $q$SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansReminders WHERE ServiceId = @ServiceId AND GrainId = @GrainId ORDER BY ReminderName;$q$)
            ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;
            """);
        await new PostgresMigrator([.. PostgresMigrator.Scripts, newer]).MigrateAsync(db, Ct);

        var warning = await CheckAsync(db, allowUnmanaged: false);

        Assert.Contains("ReadReminderRowsKey", warning, StringComparison.Ordinal);
        Assert.Contains("newer migrations (version 99)", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckQueries_OfficialSchema_RefusesUnlessAllowedThenNeedsEveryKey()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(CheckQueries_OfficialSchema_RefusesUnlessAllowedThenNeedsEveryKey), Ct);
        await Sql.ExecuteAsync(db, OfficialSchema);

        var refused = await Assert.ThrowsAsync<PostgresSchemaException>(() => CheckAsync(db, allowUnmanaged: false));
        var incomplete = await Assert.ThrowsAsync<PostgresSchemaException>(() => CheckAsync(db, allowUnmanaged: true));

        Assert.Contains("Orleans' official ADO.NET schema", refused.Message, StringComparison.Ordinal);
        Assert.Contains("set Storage:MigrateOnStartup=false and Storage:UnmanagedSchema=true", refused.Message, StringComparison.Ordinal);
        Assert.Contains("OrleansQuery lacks the queries ClearStorageKey, DeleteStorageKey, UpsertReminderRowKey", incomplete.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestoreQueries_OverwrittenAndDeletedRows_WritesBackOnlyThoseThenCheckPasses()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(RestoreQueries_OverwrittenAndDeletedRows_WritesBackOnlyThoseThenCheckPasses), Ct);
        var migrator = new PostgresMigrator();
        await migrator.MigrateAsync(db, Ct);
        await Sql.ExecuteAsync(db, """
            UPDATE OrleansQuery SET QueryText = 'SELECT 1' WHERE QueryKey = 'WriteToStorageKey';
            DELETE FROM OrleansQuery WHERE QueryKey = 'DeleteReminderRowKey';
            """);

        var restored = await migrator.RestoreQueriesAsync(db, Ct);
        var again = await migrator.RestoreQueriesAsync(db, Ct);

        Assert.Equal(["DeleteReminderRowKey", "WriteToStorageKey"], restored);
        Assert.Empty(again);
        Assert.Null(await CheckAsync(db, allowUnmanaged: false));
    }

    [Fact]
    public async Task RestoreQueries_OfficialSchema_RefusesAndChangesNothing()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(RestoreQueries_OfficialSchema_RefusesAndChangesNothing), Ct);
        await Sql.ExecuteAsync(db, OfficialSchema);

        await Assert.ThrowsAsync<PostgresSchemaException>(() => new PostgresMigrator().RestoreQueriesAsync(db, Ct));

        Assert.Equal(2L, await Sql.ScalarAsync<long>(db, "SELECT count(*) FROM OrleansQuery"));
    }

    [Fact]
    public async Task Adopt_DocumentedSteps_MigrateThenCopyRowsThenCheckPasses()
    {
        // The steps of docs/deployment.md, "A database that already holds Orleans' official schema".
        var db = await postgres.CreateDatabaseAsync(nameof(Adopt_DocumentedSteps_MigrateThenCopyRowsThenCheckPasses), Ct);
        await Sql.ExecuteAsync(db, OfficialSchema + """
            INSERT INTO OrleansStorage VALUES (11, 0, 0, 5, 'node', 'node:a', 'controlplane', '\x0102', '2030-01-02 03:04:05', 7);
            INSERT INTO OrleansRemindersTable VALUES ('controlplane', 'node/node:a', 'watchdog', '2030-01-02 03:04:05', 60000, 9, 3);
            """);

        await Sql.ExecuteAsync(db, "ALTER TABLE OrleansQuery RENAME TO orleansquery_retired");
        await new PostgresMigrator().MigrateAsync(db, Ct);
        await Sql.ExecuteAsync(db, """
            BEGIN;
            INSERT INTO OrleansGrainState (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
                GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
            SELECT GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
                GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn AT TIME ZONE 'UTC', Version
            FROM OrleansStorage;
            INSERT INTO OrleansReminders (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
            SELECT ServiceId, GrainId, ReminderName, StartTime AT TIME ZONE 'UTC', Period, GrainHash, Version
            FROM OrleansRemindersTable;
            ALTER TABLE OrleansStorage RENAME TO orleansstorage_retired;
            ALTER TABLE OrleansRemindersTable RENAME TO orleansreminderstable_retired;
            COMMIT;
            """);

        Assert.Null(await CheckAsync(db, allowUnmanaged: false));
        Assert.Equal(7, await Sql.ScalarAsync<int>(db, "SELECT Version FROM OrleansGrainState WHERE GrainIdExtensionString = 'node:a'"));
        Assert.Equal(
            new DateTime(2030, 1, 2, 3, 4, 5, DateTimeKind.Utc),
            await Sql.ScalarAsync<DateTime>(db, "SELECT StartTime FROM OrleansReminders WHERE ReminderName = 'watchdog'"));
    }

    private static async Task<string?> CheckAsync(string db, bool allowUnmanaged)
    {
        await using var connection = new NpgsqlConnection(db);
        await connection.OpenAsync(Ct);
        return await PostgresSchema.CheckQueriesAsync(connection, allowUnmanaged, Ct);
    }

    private static async Task<List<(string Key, string Text)>> QueriesAsync(string db)
    {
        var rows = new List<(string, string)>();
        await using var connection = new NpgsqlConnection(db);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT QueryKey, QueryText FROM OrleansQuery ORDER BY QueryKey COLLATE \"C\"", connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            rows.Add((reader.GetString(0), reader.GetString(1)));
        }

        return rows;
    }
}
