using System.Collections.Concurrent;
using ControlPlane.Grains.Metering;
using Orleans.Storage;

namespace ControlPlane.Grains.Tests.Storage;

/// <summary>The error injected where a real store, or a grain with a bug, would fail.</summary>
public sealed class InjectedFault(string message) : Exception(message);

/// <summary>
/// Failures on demand, per grain: the next writes or reads of one grain's state fail (the others go to the real store),
/// or the next calls of one of its methods. A write may fail before it reaches the store, or after it (written, but the
/// answer lost: an unknown outcome). A failed call throws what a grain with a bug would, not an Orleans error.
/// </summary>
public sealed class InjectedFaults
{
    private readonly ConcurrentDictionary<(GrainId Grain, string Operation), int> _pending = new();

    private const string Write = "write";
    private const string WriteAfterStoring = "write-after-storing";
    private const string Read = "read";
    private const string SeenRead = "seen-read";

    /// <summary>The next <paramref name="count"/> writes of <paramref name="grain"/> fail; nothing reaches the store.</summary>
    public void FailWrites(IAddressable grain, int count = 1) => Add(grain, Write, count);

    /// <summary>The next <paramref name="count"/> writes of <paramref name="grain"/> are stored, then reported as failed.</summary>
    public void FailWritesAfterStoring(IAddressable grain, int count = 1) => Add(grain, WriteAfterStoring, count);

    /// <summary>The next <paramref name="count"/> reads of <paramref name="grain"/> fail (its activation, or a reload).</summary>
    public void FailReads(IAddressable grain, int count = 1) => Add(grain, Read, count);

    /// <summary>The next <paramref name="count"/> reads of the event ids a usage bucket counted fail (its totals still read).</summary>
    public void FailSeenReads(IAddressable bucket, int count = 1) => Add(bucket, SeenRead, count);

    /// <summary>The next <paramref name="count"/> calls of <paramref name="method"/> on <paramref name="grain"/> throw before it runs.</summary>
    public void FailCalls(IAddressable grain, string method, int count = 1) => Add(grain, "call:" + method, count);

    internal bool TakeWrite(GrainId grain) => Take(grain, Write);

    internal bool TakeWriteAfterStoring(GrainId grain) => Take(grain, WriteAfterStoring);

    internal bool TakeRead(GrainId grain) => Take(grain, Read);

    internal bool TakeSeenRead(GrainId grain) => Take(grain, SeenRead);

    internal bool TakeCall(GrainId grain, string method) => Take(grain, "call:" + method);

    /// <summary>Whether the operation fails now (and counts it).</summary>
    private bool Take(GrainId grain, string operation)
    {
        while (_pending.TryGetValue((grain, operation), out var left) && left > 0)
        {
            if (_pending.TryUpdate((grain, operation), left - 1, left))
            {
                return true;
            }
        }

        return false;
    }

    private void Add(IAddressable grain, string operation, int count) =>
        _pending.AddOrUpdate((grain.GetGrainId(), operation), count, (_, left) => left + count);
}

/// <summary>A grain storage that passes everything to the real one, except the failures <see cref="InjectedFaults"/> asks for.</summary>
internal sealed class FaultInjectingGrainStorage(IGrainStorage inner, InjectedFaults faults) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        faults.TakeRead(grainId)
            ? throw new InjectedFault($"injected read failure of {stateName} {grainId}")
            : inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (faults.TakeWrite(grainId))
        {
            throw new InjectedFault($"injected write failure of {stateName} {grainId}");
        }

        await inner.WriteStateAsync(stateName, grainId, grainState);
        if (faults.TakeWriteAfterStoring(grainId))
        {
            throw new InjectedFault($"injected failure after writing {stateName} {grainId}");
        }
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        faults.TakeWrite(grainId)
            ? throw new InjectedFault($"injected clear failure of {stateName} {grainId}")
            : inner.ClearStateAsync(stateName, grainId, grainState);
}

/// <summary>
/// The usage buckets' store with the same failures as <see cref="FaultInjectingGrainStorage"/>, asked for the same way
/// (per bucket grain): a failed write reaches the store or not, a failed read fails the activation or the reload.
/// </summary>
internal sealed class FaultInjectingUsageBucketStore(IUsageBucketStore inner, InjectedFaults faults) : IUsageBucketStore
{
    public Task<StoredBucketTotals?> ReadTotalsAsync(GrainId bucket) =>
        faults.TakeRead(bucket)
            ? throw new InjectedFault($"injected read failure of the totals of {bucket}")
            : inner.ReadTotalsAsync(bucket);

    public Task<IReadOnlyDictionary<GrainId, StoredBucketTotals>> ReadTotalsAsync(IReadOnlyCollection<GrainId> buckets) =>
        buckets.FirstOrDefault(faults.TakeRead) is { } failing && !failing.IsDefault
            ? throw new InjectedFault($"injected read failure of the totals of {failing}")
            : inner.ReadTotalsAsync(buckets);

    public Task ReadSeenAsync(GrainId bucket, int version, Action<ReadOnlyMemory<byte>> chunk) =>
        faults.TakeSeenRead(bucket)
            ? throw new InjectedFault($"injected read failure of the ids counted by {bucket}")
            : inner.ReadSeenAsync(bucket, version, chunk);

    public async Task<int> CommitAsync(GrainId bucket, int? expectedVersion, byte[] totals, ReadOnlyMemory<byte> newSeen)
    {
        if (faults.TakeWrite(bucket))
        {
            throw new InjectedFault($"injected commit failure of {bucket}");
        }

        var version = await inner.CommitAsync(bucket, expectedVersion, totals, newSeen);
        return faults.TakeWriteAfterStoring(bucket)
            ? throw new InjectedFault($"injected failure after committing {bucket}")
            : version;
    }
}
