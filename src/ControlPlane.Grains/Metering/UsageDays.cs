using ControlPlane.Contracts;
using ControlPlane.Contracts.Metering;
using Orleans.Serialization;

namespace ControlPlane.Grains.Metering;

/// <summary>
/// Many days of one ledger read at once, for a view (a contract's quarters, a preview): the totals of every day the
/// store holds in one read, instead of activating each day's <see cref="UsageBucketGrain"/> to read its own. A bucket
/// answers an event only once its commit is durable, so the store holds every acknowledged event; it may lack only what
/// an active bucket applied in memory for a commit still in flight (not acknowledged yet, and undone if that commit
/// fails), which a view need not show. A day the store holds nothing of (no usage, or a day stored the old way,
/// <see cref="UsageBucketState"/>) is asked of its bucket, as before. Closing a quarter never reads this way: it seals
/// each day through its bucket.
/// </summary>
public static class UsageDays
{
    /// <summary>The totals of <paramref name="ledger"/> on each of <paramref name="days"/> of the customer, in the days' order.</summary>
    public static async Task<BucketTotals[]> ReadAsync(
        IUsageBucketStore store,
        Serializer<UsageBucketTotals> serializer,
        IGrainFactory grains,
        string customerId,
        string ledger,
        IReadOnlyList<DateOnly> days)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(serializer);
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(days);
        var buckets = days.Select(d => grains.GetGrain<IUsageBucketGrain>(GrainKeys.UsageBucket(customerId, d))).ToArray();
        var ids = buckets.Select(b => b.GetGrainId()).ToArray();
        var stored = await store.ReadTotalsAsync(ids);
        var reads = new Task<BucketTotals>[days.Count];
        for (var i = 0; i < days.Count; i++)
        {
            reads[i] = stored.TryGetValue(ids[i], out var found)
                ? Task.FromResult((serializer.Deserialize(found.Totals) ?? new UsageBucketTotals()).Of(ledger))
                : buckets[i].GetAsync(ledger);
        }

        return await Task.WhenAll(reads);
    }
}
