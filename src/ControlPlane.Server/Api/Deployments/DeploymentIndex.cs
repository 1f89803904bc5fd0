using System.Collections.Concurrent;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;

namespace ControlPlane.Server.Api.Deployments;

/// <summary>
/// Which deployment ids exist, as far as this silo has seen, so that a demand signal naming an id that exists
/// nowhere is answered without activating a deployment grain (an activation lives for minutes: thousands of made-up
/// ids would cost memory for that long). Ids are remembered once the scheduler, which holds every deployment's spec,
/// has listed them, so a steady gateway's signals never reach the scheduler. An id not seen yet is looked up in a list
/// read after it arrived (a deployment just created through another silo is found), and the reads of concurrent
/// lookups are shared: one read at a time, at most one every <see cref="MinReadInterval"/>, whatever the number of
/// made-up ids. An id is forgotten when its grain answers that it has no deployment (deleted, perhaps through
/// another silo), so the set holds no more than the deployments there are.
/// </summary>
public sealed class DeploymentIndex(IGrainFactory grains, TimeProvider time)
{
    /// <summary>The least time between two reads of the scheduler's list: what a lookup of an unseen id may wait.</summary>
    public static readonly TimeSpan MinReadInterval = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<string, byte> _known = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private TaskCompletionSource<HashSet<string>>? _queued;
    private Task _running = Task.CompletedTask;
    private long _lastReadStarted;

    /// <summary>The ids of <paramref name="deploymentIds"/> that exist.</summary>
    public async Task<IReadOnlySet<string>> ExistingAsync(IReadOnlyCollection<string> deploymentIds)
    {
        var existing = new HashSet<string>(StringComparer.Ordinal);
        var unseen = new List<string>();
        foreach (var id in deploymentIds)
        {
            if (_known.ContainsKey(id))
            {
                existing.Add(id);
            }
            else
            {
                unseen.Add(id);
            }
        }

        if (unseen.Count > 0)
        {
            var all = await NextReadAsync();
            foreach (var id in unseen.Where(all.Contains))
            {
                _known.TryAdd(id, 0);
                existing.Add(id);
            }
        }

        return existing;
    }

    /// <summary>A deployment was created through this silo.</summary>
    public void Remember(string deploymentId) => _known.TryAdd(deploymentId, 0);

    /// <summary>A deployment was deleted, or its grain answered that it has none.</summary>
    public void Forget(string deploymentId) => _known.TryRemove(deploymentId, out _);

    /// <summary>A read of the scheduler's list that starts after this call: the queued one, or a new one queued now.</summary>
    private Task<HashSet<string>> NextReadAsync()
    {
        TaskCompletionSource<HashSet<string>>? queued = null;
        Task previous;
        Task<HashSet<string>> next;
        lock (_gate)
        {
            if (_queued is null)
            {
                _queued = queued = new TaskCompletionSource<HashSet<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            previous = _running;
            next = _queued.Task;
        }

        if (queued is not null)
        {
            _ = ReadAsync(queued, previous);
        }

        return next;
    }

    private async Task ReadAsync(TaskCompletionSource<HashSet<string>> read, Task previous)
    {
        try
        {
            await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            var wait = MinReadInterval - time.GetElapsedTime(Interlocked.Read(ref _lastReadStarted));
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time);
            }

            lock (_gate)
            {
                // From here on a new lookup waits for the next read: this one may have started before it arrived.
                _queued = null;
                _running = read.Task;
                _lastReadStarted = time.GetTimestamp();
            }

            var ids = await grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).ListDeploymentIdsAsync();
            read.SetResult(new HashSet<string>(ids, StringComparer.Ordinal));
        }
        catch (Exception e)
        {
            read.SetException(e);
        }
    }
}
