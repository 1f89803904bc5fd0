using ControlPlane.Contracts;
using ControlPlane.Contracts.Partners;
using ControlPlane.Domain.Partners;

namespace ControlPlane.Server.Api.Partners;

/// <summary>
/// This silo's copy of the partner list, so the gateway's routing answer does not call the one partner directory on
/// every request. A change made through this silo is seen at once; one made through another silo within
/// <see cref="MaxAge"/> (and the time to read it again). A copy that is too old still answers while a fresh one is
/// read: the routing answer never waits on the partner directory once it has had a copy, so it keeps answering while
/// the directory's silo is lost and the cluster has not yet declared it dead.
/// </summary>
public sealed class PartnerCache(IGrainFactory grains, TimeProvider time)
{
    /// <summary>How long a copy is used before it is read again: partners change rarely, and a late one only shifts overflow.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(5);

    private readonly object _gate = new();
    private volatile Snapshot? _snapshot;
    private Task<IReadOnlyList<Partner>>? _reading;
    private int _generation;

    public Task<IReadOnlyList<Partner>> GetAsync()
    {
        var now = time.GetUtcNow();
        var current = _snapshot;
        if (current is not null && now - current.ReadAt < MaxAge)
        {
            return Task.FromResult(current.Partners);
        }

        var reading = Read();
        if (current is null)
        {
            return reading;
        }

        // Nobody waits on this read: its failure (the directory unreachable) is seen by the next call that has to wait.
        _ = reading.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return Task.FromResult(current.Partners);
    }

    /// <summary>Drops the copy after a change through this silo; a read that started before it is not kept.</summary>
    public void Invalidate()
    {
        lock (_gate)
        {
            _generation++;
            _reading = null;
            _snapshot = null;
        }
    }

    /// <summary>One read of the directory at a time; a failed read leaves the copy as it was (the next call reads again).</summary>
    private Task<IReadOnlyList<Partner>> Read()
    {
        lock (_gate)
        {
            if (_reading is { IsCompleted: false } inFlight)
            {
                return inFlight;
            }

            return _reading = ReadAsync(_generation);
        }
    }

    private async Task<IReadOnlyList<Partner>> ReadAsync(int generation)
    {
        var now = time.GetUtcNow();
        var list = await grains.GetGrain<IPartnerDirectoryGrain>(GrainKeys.PartnerDirectory).ListAsync();
        var fresh = new Snapshot(list.Version, list.Partners, now);
        lock (_gate)
        {
            if (generation == _generation && (_snapshot is not { } current || current.Version <= fresh.Version))
            {
                _snapshot = fresh;
            }
        }

        return list.Partners;
    }

    private sealed record Snapshot(long Version, IReadOnlyList<Partner> Partners, DateTimeOffset ReadAt);
}
