using System.Data.Common;
using ControlPlane.Grains.Metering;
using Npgsql;
using NpgsqlTypes;
using Orleans.Storage;

namespace ControlPlane.Server.Storage;

/// <summary>
/// Usage buckets in PostgreSQL (tables of migration <c>0003_usage_buckets</c>): a commit is one statement that updates
/// the totals row only at the version the grain read and, only if that update happened, appends one row of the ids it
/// counted. Each bucket's rows are keyed by the cluster's service id too, as Orleans' grain state is. Database failures
/// come out as <see cref="ControlPlane.Contracts.StorageUnavailableException"/>, as from the grain storage.
/// </summary>
public sealed class PostgresUsageBucketStore(NpgsqlDataSource dataSource, string serviceId) : IUsageBucketStore
{
    // A first commit inserts; a later one updates where the version is still the one read. Either way the ids are
    // inserted from the row the first part returned, so a commit that lost the race writes nothing at all.
    private const string InsertSql = """
        WITH totals AS (
            INSERT INTO UsageBucketTotals (ServiceId, BucketKey, Totals, Version, ModifiedOn)
            VALUES ($1, $2, $3, 1, now())
            ON CONFLICT ON CONSTRAINT usagebuckettotals_pkey DO NOTHING
            RETURNING Version),
        seen AS (
            INSERT INTO UsageBucketSeenIds (ServiceId, BucketKey, Version, Ids)
            SELECT $1, $2, totals.Version, $4 FROM totals WHERE octet_length($4) > 0)
        SELECT Version FROM totals
        """;

    private const string UpdateSql = """
        WITH totals AS (
            UPDATE UsageBucketTotals SET Totals = $3, Version = Version + 1, ModifiedOn = now()
            WHERE ServiceId = $1 AND BucketKey = $2 AND Version = $5
            RETURNING Version),
        seen AS (
            INSERT INTO UsageBucketSeenIds (ServiceId, BucketKey, Version, Ids)
            SELECT $1, $2, totals.Version, $4 FROM totals WHERE octet_length($4) > 0)
        SELECT Version FROM totals
        """;

    public async Task<StoredBucketTotals?> ReadTotalsAsync(GrainId bucket)
    {
        try
        {
            await using var command = dataSource.CreateCommand(
                "SELECT Totals, Version FROM UsageBucketTotals WHERE ServiceId = $1 AND BucketKey = $2");
            AddKey(command, bucket);
            await using var reader = await command.ExecuteReaderAsync();
            return await reader.ReadAsync() ? new StoredBucketTotals(reader.GetFieldValue<byte[]>(0), reader.GetInt32(1)) : null;
        }
        catch (DbException e)
        {
            throw StorageFailures.Translate(e, $"read of the totals of {bucket}");
        }
    }

    public async Task<IReadOnlyDictionary<GrainId, StoredBucketTotals>> ReadTotalsAsync(IReadOnlyCollection<GrainId> buckets)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        var byKey = new Dictionary<string, GrainId>(StringComparer.Ordinal);
        foreach (var bucket in buckets)
        {
            byKey[bucket.Key.ToString()!] = bucket;
        }

        var found = new Dictionary<GrainId, StoredBucketTotals>();
        if (byKey.Count == 0)
        {
            return found;
        }

        try
        {
            await using var command = dataSource.CreateCommand(
                "SELECT BucketKey, Totals, Version FROM UsageBucketTotals WHERE ServiceId = $1 AND BucketKey = ANY($2)");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = serviceId });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. byKey.Keys] });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                if (byKey.TryGetValue(reader.GetString(0), out var bucket))
                {
                    found[bucket] = new StoredBucketTotals(reader.GetFieldValue<byte[]>(1), reader.GetInt32(2));
                }
            }

            return found;
        }
        catch (DbException e)
        {
            throw StorageFailures.Translate(e, $"read of the totals of {byKey.Count} buckets");
        }
    }

    public async Task ReadSeenAsync(GrainId bucket, int version, Action<ReadOnlyMemory<byte>> chunk)
    {
        try
        {
            await using var command = dataSource.CreateCommand(
                "SELECT Ids FROM UsageBucketSeenIds WHERE ServiceId = $1 AND BucketKey = $2 AND Version <= $3 ORDER BY Version");
            AddKey(command, bucket);
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                chunk(reader.GetFieldValue<byte[]>(0));
            }
        }
        catch (DbException e)
        {
            throw StorageFailures.Translate(e, $"read of the ids counted by {bucket}");
        }
    }

    public async Task<int> CommitAsync(GrainId bucket, int? expectedVersion, byte[] totals, ReadOnlyMemory<byte> newSeen)
    {
        object? written;
        try
        {
            await using var command = dataSource.CreateCommand(expectedVersion is null ? InsertSql : UpdateSql);
            AddKey(command, bucket);
            command.Parameters.Add(new NpgsqlParameter<byte[]> { NpgsqlDbType = NpgsqlDbType.Bytea, TypedValue = totals });
            command.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { NpgsqlDbType = NpgsqlDbType.Bytea, TypedValue = newSeen });
            if (expectedVersion is { } expected)
            {
                command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = expected });
            }

            written = await command.ExecuteScalarAsync();
        }
        catch (DbException e)
        {
            throw StorageFailures.Translate(e, $"commit of {bucket}");
        }

        return written is int version
            ? version
            : throw new InconsistentStateException(
                $"Usage bucket {bucket} was written by another activation since it was read: nothing was written.",
                "",
                expectedVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "");
    }

    private void AddKey(NpgsqlCommand command, GrainId bucket)
    {
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = serviceId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = bucket.Key.ToString() });
    }
}
