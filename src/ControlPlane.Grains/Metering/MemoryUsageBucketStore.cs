using Orleans.Storage;

namespace ControlPlane.Grains.Metering;

/// <summary>
/// The embedded server's <see cref="IUsageBucketStore"/>: the same rules as PostgreSQL's (versioned totals, append-only
/// ids, a commit all or nothing), in this process's memory, so nothing survives a restart (as the rest of the embedded
/// server's state). What it hands out are copies: no caller can change what is stored.
/// </summary>
public sealed class MemoryUsageBucketStore : IUsageBucketStore
{
    private readonly Dictionary<GrainId, Bucket> _buckets = [];
    private readonly Lock _lock = new();

    public Task<StoredBucketTotals?> ReadTotalsAsync(GrainId bucket)
    {
        lock (_lock)
        {
            return Task.FromResult(_buckets.TryGetValue(bucket, out var stored)
                ? new StoredBucketTotals([.. stored.Totals], stored.Version)
                : null);
        }
    }

    public Task<IReadOnlyDictionary<GrainId, StoredBucketTotals>> ReadTotalsAsync(IReadOnlyCollection<GrainId> buckets)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        var found = new Dictionary<GrainId, StoredBucketTotals>();
        lock (_lock)
        {
            foreach (var bucket in buckets)
            {
                if (_buckets.TryGetValue(bucket, out var stored))
                {
                    found[bucket] = new StoredBucketTotals([.. stored.Totals], stored.Version);
                }
            }
        }

        return Task.FromResult<IReadOnlyDictionary<GrainId, StoredBucketTotals>>(found);
    }

    public Task ReadSeenAsync(GrainId bucket, int version, Action<ReadOnlyMemory<byte>> chunk)
    {
        List<(int Version, byte[] Ids)> chunks;
        lock (_lock)
        {
            chunks = _buckets.TryGetValue(bucket, out var stored) ? [.. stored.Seen] : [];
        }

        // Chunks are never changed once appended, so they can be handed out outside the lock.
        foreach (var (at, ids) in chunks)
        {
            if (at <= version)
            {
                chunk(ids);
            }
        }

        return Task.CompletedTask;
    }

    public Task<int> CommitAsync(GrainId bucket, int? expectedVersion, byte[] totals, ReadOnlyMemory<byte> newSeen)
    {
        lock (_lock)
        {
            _buckets.TryGetValue(bucket, out var stored);
            if (stored?.Version != expectedVersion)
            {
                throw new InconsistentStateException(
                    $"Usage bucket {bucket} is at version {stored?.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, not the one read.",
                    stored?.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    expectedVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            stored ??= _buckets[bucket] = new Bucket();
            stored.Version++;
            stored.Totals = [.. totals];
            if (!newSeen.IsEmpty)
            {
                stored.Seen.Add((stored.Version, newSeen.ToArray()));
            }

            return Task.FromResult(stored.Version);
        }
    }

    private sealed class Bucket
    {
        public int Version { get; set; }

        public byte[] Totals { get; set; } = [];

        public List<(int Version, byte[] Ids)> Seen { get; } = [];
    }
}
