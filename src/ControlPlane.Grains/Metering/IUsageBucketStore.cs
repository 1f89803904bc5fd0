using Orleans.Storage;

namespace ControlPlane.Grains.Metering;

/// <summary>
/// Where usage buckets (<see cref="UsageBucketGrain"/>) keep what they counted: per bucket, its totals (one small record,
/// rewritten by each commit, with a version) and the hashes of the event ids it counted (append-only: a commit adds only
/// the ids it counted). A commit writes both at once or neither, and only over the version it read, so two activations
/// of one bucket can never both count an event. Reading the totals never reads the ids.
/// <para>
/// PostgreSQL in production (<c>PostgresUsageBucketStore</c> in the server, its tables from the server's migrations),
/// <see cref="MemoryUsageBucketStore"/> in the embedded server; both follow these rules.
/// </para>
/// </summary>
public interface IUsageBucketStore
{
    /// <summary>The bucket's totals as the last commit left them; null when nothing was committed to this store yet.</summary>
    Task<StoredBucketTotals?> ReadTotalsAsync(GrainId bucket);

    /// <summary>
    /// The totals of each of <paramref name="buckets"/> that something was committed to, in one read (a contract's quarter
    /// is some 92 days); buckets the store holds nothing of are not in the answer.
    /// </summary>
    Task<IReadOnlyDictionary<GrainId, StoredBucketTotals>> ReadTotalsAsync(IReadOnlyCollection<GrainId> buckets);

    /// <summary>
    /// The event-id hashes of every commit up to <paramref name="version"/>, each 16 bytes, back to back, in commit
    /// order, handed to <paramref name="chunk"/> one commit at a time (a busy day holds millions).
    /// </summary>
    Task ReadSeenAsync(GrainId bucket, int version, Action<ReadOnlyMemory<byte>> chunk);

    /// <summary>
    /// Replaces the totals and appends <paramref name="newSeen"/> (16-byte hashes, back to back; may be empty) in one
    /// transaction, only if the stored version is still <paramref name="expectedVersion"/> (null: nothing stored yet).
    /// </summary>
    /// <returns>The new version.</returns>
    /// <exception cref="InconsistentStateException">The stored version was another: nothing was written.</exception>
    Task<int> CommitAsync(GrainId bucket, int? expectedVersion, byte[] totals, ReadOnlyMemory<byte> newSeen);
}

/// <summary>A bucket's serialized totals and the version that wrote them.</summary>
public sealed record StoredBucketTotals(byte[] Totals, int Version);
