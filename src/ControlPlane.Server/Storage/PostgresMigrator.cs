using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace ControlPlane.Server.Storage;

/// <summary>
/// Applies the project's PostgreSQL migrations (the embedded <c>Storage/Migrations/NNNN_name.sql</c> scripts)
/// in version order, each in its own transaction, and records them in <c>controlplane_schema_migrations</c>.
/// Safe to run from several silos at once: a session-level advisory lock serialises them, and a script
/// that is already recorded is skipped.
/// </summary>
public sealed partial class PostgresMigrator
{
    /// <summary>The ADO.NET invariant name the Orleans providers need for PostgreSQL.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>The table that records applied migrations.</summary>
    public const string HistoryTable = "controlplane_schema_migrations";

    // Any constant works as long as nothing else in the database uses it; this one spells "CPmigrat".
    private const long AdvisoryLockKey = 0x43_50_6D_69_67_72_61_74;

    private readonly IReadOnlyList<MigrationScript> _scripts;
    private readonly ILogger _logger;

    /// <summary>Creates a migrator for the scripts embedded in this assembly.</summary>
    public PostgresMigrator(ILogger<PostgresMigrator>? logger = null)
        : this(EmbeddedScripts.Value, logger)
    {
    }

    internal PostgresMigrator(IReadOnlyList<MigrationScript> scripts, ILogger? logger = null)
    {
        _scripts = [.. scripts.OrderBy(s => s.Version)];
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The embedded scripts, in the order they are applied.</summary>
    internal static IReadOnlyList<MigrationScript> Scripts => EmbeddedScripts.Value;

    private static readonly Lazy<IReadOnlyList<MigrationScript>> EmbeddedScripts = new(LoadEmbeddedScripts);

    /// <summary>
    /// Brings the database up to date.
    /// </summary>
    /// <returns>The names of the scripts applied by this call, in order; empty when it was already current.</returns>
    /// <exception cref="PostgresSchemaException">An applied script has since been changed, or the database holds
    /// an Orleans schema these migrations did not make.</exception>
    public async Task<IReadOnlyList<string>> MigrateAsync(string connectionString, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);

        LogAcquiringLock(_logger, connection.Database);
        await ExecuteAsync(connection, null, $"SELECT pg_advisory_lock({AdvisoryLockKey})", ct);
        try
        {
            return await MigrateLockedAsync(connection, ct);
        }
        finally
        {
            await UnlockAsync(connection);
        }
    }

    private async Task<IReadOnlyList<string>> MigrateLockedAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        // Before anything is created: on a schema someone else made (Orleans' own scripts), the first
        // script would fail on "relation orleansquery already exists" and leave an empty history behind.
        var state = await PostgresSchema.InspectAsync(connection, ct);
        if (state.IsUnmanaged)
        {
            throw new PostgresSchemaException(PostgresSchema.UnmanagedMessage(state) +
                " 'migrate' never changes such a schema. Either run the silos on it as it is (Storage:MigrateOnStartup=false, " +
                "Storage:UnmanagedSchema=true, and no migrate job), or adopt it: move its rows into this project's schema and " +
                "retire its tables, as docs/deployment.md says under 'A database that already holds Orleans' official schema'.");
        }

        await ExecuteAsync(connection, null, $"""
            CREATE TABLE IF NOT EXISTS {HistoryTable}
            (
                version    integer     NOT NULL PRIMARY KEY,
                name       text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                checksum   text        NOT NULL
            )
            """, ct);

        var applied = await ReadAppliedAsync(connection, ct);

        // Check every recorded script before applying anything, so a tampered history stops the
        // silo before it changes the schema further.
        foreach (var script in _scripts)
        {
            if (applied.TryGetValue(script.Version, out var record) && record.Checksum != script.Checksum)
            {
                throw new PostgresSchemaException(
                    $"Migration {script.Name} was changed after it was applied to this database " +
                    $"(checksum in {HistoryTable}: {record.Checksum}, embedded script: {script.Checksum}). " +
                    "Applied migrations must never be edited: restore the script and add a new migration instead.");
            }
        }

        foreach (var (version, record) in applied)
        {
            if (!_scripts.Any(s => s.Version == version))
            {
                // A newer build migrated this database (e.g. during a rolling upgrade): not ours to judge.
                LogUnknownMigration(_logger, record.Name, version);
            }
        }

        var appliedNow = new List<string>();
        foreach (var script in _scripts.Where(s => !applied.ContainsKey(s.Version)))
        {
            LogApplying(_logger, script.Name);
            var started = Stopwatch.GetTimestamp();

            await using (var transaction = await connection.BeginTransactionAsync(ct))
            {
                await ExecuteAsync(connection, transaction, script.Sql, ct);
                await using (var record = new NpgsqlCommand(
                    $"INSERT INTO {HistoryTable} (version, name, checksum) VALUES (@version, @name, @checksum)",
                    connection,
                    transaction))
                {
                    record.Parameters.AddWithValue("version", script.Version);
                    record.Parameters.AddWithValue("name", script.Name);
                    record.Parameters.AddWithValue("checksum", script.Checksum);
                    await record.ExecuteNonQueryAsync(ct);
                }

                await transaction.CommitAsync(ct);
            }

            LogApplied(_logger, script.Name, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            appliedNow.Add(script.Name);
        }

        if (appliedNow.Count == 0)
        {
            LogUpToDate(_logger, _scripts.Count);
        }

        return appliedNow;
    }

    /// <summary>
    /// Writes back every <c>OrleansQuery</c> row the migrations installed whose text was changed or deleted
    /// since, in one transaction; rows of other keys are left alone.
    /// </summary>
    /// <returns>The keys written back, in order; empty when every row was intact.</returns>
    /// <exception cref="PostgresSchemaException">The schema is not this project's, or is not fully migrated.</exception>
    public async Task<IReadOnlyList<string>> RestoreQueriesAsync(string connectionString, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await ExecuteAsync(connection, null, $"SELECT pg_advisory_lock({AdvisoryLockKey})", ct);
        try
        {
            var state = await PostgresSchema.InspectAsync(connection, ct);
            if (!state.IsManaged || _scripts.Any(s => !state.Applied.Contains(s.Version)))
            {
                throw new PostgresSchemaException(
                    "Only a database these migrations fully migrated can have its queries restored: run 'ControlPlane.Server migrate' first.");
            }

            var restored = new List<string>();
            await using var transaction = await connection.BeginTransactionAsync(ct);
            foreach (var (key, text) in PostgresSchema.InstalledQueries(_scripts).OrderBy(q => q.Key, StringComparer.Ordinal))
            {
                await using var upsert = new NpgsqlCommand(
                    """
                    INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES (@key, @text)
                    ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText
                    WHERE OrleansQuery.QueryText IS DISTINCT FROM excluded.QueryText
                    """,
                    connection,
                    transaction);
                upsert.Parameters.AddWithValue("key", key);
                upsert.Parameters.AddWithValue("text", text);
                if (await upsert.ExecuteNonQueryAsync(ct) > 0)
                {
                    LogRestoredQuery(_logger, key);
                    restored.Add(key);
                }
            }

            await transaction.CommitAsync(ct);
            return restored;
        }
        finally
        {
            await UnlockAsync(connection);
        }
    }

    private static async Task UnlockAsync(NpgsqlConnection connection)
    {
        try
        {
            await ExecuteAsync(connection, null, $"SELECT pg_advisory_unlock({AdvisoryLockKey})", CancellationToken.None);
        }
        catch (NpgsqlException)
        {
            // The connection broke (cancellation, network): the server releases a session lock with
            // the session, and a failure here must not hide the one that got us here.
        }
    }

    private static async Task<Dictionary<int, (string Name, string Checksum)>> ReadAppliedAsync(
        NpgsqlConnection connection, CancellationToken ct)
    {
        var applied = new Dictionary<int, (string, string)>();
        await using var command = new NpgsqlCommand($"SELECT version, name, checksum FROM {HistoryTable}", connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            applied[reader.GetInt32(0)] = (reader.GetString(1), reader.GetString(2));
        }

        return applied;
    }

    private static async Task ExecuteAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static IReadOnlyList<MigrationScript> LoadEmbeddedScripts()
    {
        var assembly = typeof(PostgresMigrator).Assembly;
        const string folder = ".Storage.Migrations.";
        var scripts = new List<MigrationScript>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var at = resource.IndexOf(folder, StringComparison.Ordinal);
            if (at < 0 || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            var fileName = resource[(at + folder.Length)..];
            scripts.Add(MigrationScript.Create(fileName, ReadResource(assembly, resource)));
        }

        var duplicate = scripts.GroupBy(s => s.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException(
                $"Two migrations share version {duplicate.Key}: {string.Join(", ", duplicate.Select(s => s.Name))}.");
        }

        return [.. scripts.OrderBy(s => s.Version)];
    }

    private static string ReadResource(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded resource {resource} is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}

/// <summary>One migration script: <c>NNNN_name.sql</c>, applied in ascending <see cref="Version"/>.</summary>
internal sealed record MigrationScript(int Version, string Name, string Sql, string Checksum)
{
    public static MigrationScript Create(string fileName, string sql)
    {
        var name = fileName.EndsWith(".sql", StringComparison.Ordinal) ? fileName[..^".sql".Length] : fileName;
        var separator = name.IndexOf('_', StringComparison.Ordinal);
        if (separator <= 0 || !int.TryParse(name.AsSpan(0, separator), out var version) || version <= 0)
        {
            throw new InvalidOperationException(
                $"Migration {fileName} must be named NNNN_description.sql with a positive version number.");
        }

        return new MigrationScript(version, name, sql, ComputeChecksum(sql));
    }

    // Line endings are normalised so that a checkout with CRLF conversion does not look like an edit.
    internal static string ComputeChecksum(string sql) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql.ReplaceLineEndings("\n"))));
}
