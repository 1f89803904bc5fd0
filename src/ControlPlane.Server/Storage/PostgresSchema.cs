using System.Text.RegularExpressions;
using Npgsql;

namespace ControlPlane.Server.Storage;

/// <summary>
/// What a PostgreSQL database holds of the Orleans ADO.NET contract, and whether this project's migrations
/// put it there: the migrator refuses a schema it did not make, and a silo checks at start that the
/// <c>OrleansQuery</c> rows the providers will run are exactly the ones the migrations installed.
/// </summary>
public static partial class PostgresSchema
{
    /// <summary>The query keys the grain-storage and reminder providers refuse to start without.</summary>
    public static readonly IReadOnlyList<string> RequiredQueryKeys =
    [
        "ReadFromStorageKey", "WriteToStorageKey", "ClearStorageKey", "DeleteStorageKey",
        "UpsertReminderRowKey", "ReadReminderRowsKey", "ReadReminderRowKey", "ReadRangeRows1Key",
        "ReadRangeRows2Key", "DeleteReminderRowKey", "DeleteReminderRowsKey",
    ];

    /// <summary>
    /// Tables that Orleans' own ADO.NET scripts create (names fold to lower case, unquoted). Only
    /// <c>OrleansQuery</c> is shared with this project's schema; these name the scripts in a message.
    /// </summary>
    private static readonly string[] OfficialTables =
        ["orleansstorage", "storage", "orleansreminderstable", "orleansmembershiptable", "orleansmembershipversiontable"];

    /// <summary>Reads what the database holds; creates and changes nothing.</summary>
    public static async Task<SchemaState> InspectAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        var hasQueryTable = await ExistsAsync(connection, "orleansquery", ct);
        var applied = new SortedSet<int>();
        if (await ExistsAsync(connection, PostgresMigrator.HistoryTable, ct))
        {
            await using var command = new NpgsqlCommand($"SELECT version FROM {PostgresMigrator.HistoryTable}", connection);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        var official = new List<string>();
        foreach (var table in OfficialTables)
        {
            if (await ExistsAsync(connection, table, ct))
            {
                official.Add(table);
            }
        }

        return new SchemaState(hasQueryTable, applied, official);
    }

    /// <summary>
    /// The text every query key has once all <paramref name="scripts"/> ran: each script installs or
    /// replaces queries as <c>('Key', $q$...$q$)</c> rows, later scripts winning. A test holds this equal
    /// to what a fresh migration leaves in <c>OrleansQuery</c>, so the convention cannot drift unseen.
    /// </summary>
    internal static IReadOnlyDictionary<string, string> InstalledQueries(IEnumerable<MigrationScript> scripts)
    {
        var queries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var script in scripts.OrderBy(s => s.Version))
        {
            foreach (Match match in QueryRow().Matches(script.Sql))
            {
                queries[match.Groups["key"].Value] = match.Groups["text"].Value;
            }
        }

        return queries;
    }

    /// <summary>
    /// Checks, before a silo starts, that its providers will find every query they need and that each is
    /// the text the migrations installed: an overwritten query (one calling a function that does not
    /// exist, say) would otherwise pass the providers' own start-up check and fail on the first write.
    /// </summary>
    /// <param name="allowUnmanaged">Run on an <c>OrleansQuery</c> table these migrations did not make
    /// (<c>Storage:UnmanagedSchema</c>): then the keys are checked, their texts cannot be.</param>
    /// <returns>A warning to log, or null when the schema is this project's and intact.</returns>
    /// <exception cref="PostgresSchemaException">The database cannot serve this build, with what to do.</exception>
    public static async Task<string?> CheckQueriesAsync(NpgsqlConnection connection, bool allowUnmanaged, CancellationToken ct)
    {
        var state = await InspectAsync(connection, ct);
        var scripts = PostgresMigrator.Scripts;
        if (!state.HasQueryTable)
        {
            throw new PostgresSchemaException(
                "The PostgreSQL database is not migrated: run 'ControlPlane.Server migrate' or set Storage:MigrateOnStartup=true.");
        }

        var rows = await ReadQueriesAsync(connection, ct);
        var missing = RequiredQueryKeys.Where(k => !rows.ContainsKey(k)).ToList();
        if (!state.IsManaged)
        {
            if (!allowUnmanaged)
            {
                throw new PostgresSchemaException(UnmanagedMessage(state) +
                    " To run on it as it is, set Storage:MigrateOnStartup=false and Storage:UnmanagedSchema=true (its queries are then not checked); " +
                    "to adopt it, see docs/deployment.md, 'A database that already holds Orleans' official schema'.");
            }

            if (missing.Count > 0)
            {
                throw new PostgresSchemaException(
                    $"OrleansQuery lacks the queries {string.Join(", ", missing)} that the Orleans providers need.");
            }

            return UnmanagedMessage(state) + " Running on it as Storage:UnmanagedSchema=true allows: its query texts are not checked.";
        }

        var pending = scripts.Where(s => !state.Applied.Contains(s.Version)).Select(s => s.Name).ToList();
        if (pending.Count > 0)
        {
            throw new PostgresSchemaException(
                $"The PostgreSQL database lacks migrations {string.Join(", ", pending)}: run 'ControlPlane.Server migrate' or set Storage:MigrateOnStartup=true.");
        }

        if (missing.Count > 0)
        {
            throw new PostgresSchemaException(
                $"OrleansQuery lacks the queries {string.Join(", ", missing)} that the migrations installed: it was changed by hand. " +
                "Write them back with 'ControlPlane.Server migrate --restore-queries'.");
        }

        var expected = InstalledQueries(scripts);
        var changed = RequiredQueryKeys
            .Where(k => expected.TryGetValue(k, out var text) && !SameText(text, rows[k]))
            .ToList();
        if (changed.Count > 0)
        {
            if (state.Applied.Max > scripts.Max(s => s.Version))
            {
                // A newer build migrated this database (a rolling upgrade) and may have changed these queries.
                return $"OrleansQuery holds queries {string.Join(", ", changed)} unlike this build's, from newer migrations (version {state.Applied.Max}).";
            }

            throw new PostgresSchemaException(
                $"OrleansQuery holds queries {string.Join(", ", changed)} that differ from what the migrations installed: they were changed by hand. " +
                "Orleans would run them as they are: write back the migrations' texts with 'ControlPlane.Server migrate --restore-queries'.");
        }

        return null;
    }

    /// <summary>Says what the database holds when it holds an <c>OrleansQuery</c> these migrations did not make.</summary>
    internal static string UnmanagedMessage(SchemaState state) =>
        state.OfficialTables.Count > 0
            ? $"The PostgreSQL database already holds Orleans' official ADO.NET schema (OrleansQuery, {string.Join(", ", state.OfficialTables)}), which this project's migrations did not create and will not change."
            : "The PostgreSQL database holds an OrleansQuery table that this project's migrations did not create and will not change.";

    private static bool SameText(string a, string b) => a.ReplaceLineEndings("\n") == b.ReplaceLineEndings("\n");

    private static async Task<Dictionary<string, string>> ReadQueriesAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        var rows = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var command = new NpgsqlCommand("SELECT QueryKey, QueryText FROM OrleansQuery", connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows[reader.GetString(0)] = reader.GetString(1);
        }

        return rows;
    }

    private static async Task<bool> ExistsAsync(NpgsqlConnection connection, string table, CancellationToken ct)
    {
        // to_regclass resolves through search_path, as the providers' unquoted names do.
        await using var command = new NpgsqlCommand("SELECT to_regclass(@name) IS NOT NULL", connection);
        command.Parameters.AddWithValue("name", table);
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    [GeneratedRegex(@"\('(?<key>[A-Za-z0-9]+)',\s*\$q\$(?<text>.*?)\$q\$\)", RegexOptions.Singleline)]
    private static partial Regex QueryRow();
}

/// <summary>What <see cref="PostgresSchema.InspectAsync"/> found.</summary>
/// <param name="HasQueryTable">An <c>OrleansQuery</c> table exists.</param>
/// <param name="Applied">The migration versions recorded in <c>controlplane_schema_migrations</c>.</param>
/// <param name="OfficialTables">Tables of Orleans' own scripts that exist.</param>
public sealed record SchemaState(bool HasQueryTable, SortedSet<int> Applied, IReadOnlyList<string> OfficialTables)
{
    /// <summary>
    /// <c>OrleansQuery</c> came from these migrations: the first one creates it and records itself in the
    /// same transaction, so a query table without that record was made by someone else.
    /// </summary>
    public bool IsManaged => HasQueryTable && Applied.Contains(1);

    /// <summary>An <c>OrleansQuery</c> table these migrations did not make.</summary>
    public bool IsUnmanaged => HasQueryTable && !Applied.Contains(1);
}

/// <summary>The database's schema cannot serve this build; the message says what to do.</summary>
public sealed class PostgresSchemaException(string message) : InvalidOperationException(message);
