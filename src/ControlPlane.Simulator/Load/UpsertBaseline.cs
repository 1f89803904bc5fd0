using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;

namespace ControlPlane.Simulator.Load;

/// <summary>What the baseline measured.</summary>
internal sealed record UpsertBaselineResult(int Writes, int Connections, int PayloadBytes, TimeSpan Elapsed, LatencySummary Latency)
{
    public double WritesPerSecond => Writes / Elapsed.TotalSeconds;
}

/// <summary>
/// The baseline ingestion is compared with: how many plain grain-state writes per second the database
/// takes. Orleans' ADO.NET grain storage writes a grain's state as one single-row upsert of its
/// serialized state in its own transaction (PostgreSQL: one call of the migration's <c>orleans_write_grain_state</c> function);
/// this is the same statement shape, measured without Orleans: an <c>INSERT ... ON CONFLICT DO UPDATE</c>
/// of a row with a <see cref="PayloadBytes"/>-byte payload (a small grain state), autocommit, from
/// <c>connections</c> connections at once, each cycling over its own rows (one grain each).
/// </summary>
internal static class UpsertBaseline
{
    public const int PayloadBytes = 256;
    public const string Table = "controlplane_load_baseline";
    private const int RowsPerConnection = 64;

    public static async Task<UpsertBaselineResult> RunAsync(string connectionString, int writes, int connections, CancellationToken ct)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.MaxPoolSize = Math.Max(builder.MaxPoolSize, connections + 1);
        await using var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        await using (var setup = dataSource.CreateCommand(
            $"CREATE TABLE IF NOT EXISTS {Table} (id text PRIMARY KEY, payload bytea NOT NULL, version integer NOT NULL, modified_on timestamptz NOT NULL); TRUNCATE {Table};"))
        {
            await setup.ExecuteNonQueryAsync(ct);
        }

        try
        {
            var payload = new byte[PayloadBytes];
            new Random(1).NextBytes(payload);
            var latencies = new ConcurrentBag<TimeSpan>();
            var next = -1;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, connections).Select(c => Task.Run(
                async () =>
                {
                    await using var connection = await dataSource.OpenConnectionAsync(ct);
                    await using var upsert = new NpgsqlCommand(
                        $"INSERT INTO {Table} (id, payload, version, modified_on) VALUES ($1, $2, 1, now()) " +
                        $"ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, version = {Table}.version + 1, modified_on = excluded.modified_on",
                        connection);
                    var id = upsert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text });
                    upsert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = payload });
                    var mine = 0;
                    while (Interlocked.Increment(ref next) < writes)
                    {
                        id.Value = $"grain-{c}-{mine++ % RowsPerConnection}";
                        var started = Stopwatch.GetTimestamp();
                        await upsert.ExecuteNonQueryAsync(ct);
                        latencies.Add(Stopwatch.GetElapsedTime(started));
                    }
                },
                ct)));
            var elapsed = clock.Elapsed;
            return new UpsertBaselineResult(writes, connections, PayloadBytes, elapsed, LatencySummary.From(latencies));
        }
        finally
        {
            await using var drop = dataSource.CreateCommand($"DROP TABLE IF EXISTS {Table}");
            await drop.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }
}
