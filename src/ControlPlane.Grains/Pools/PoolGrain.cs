using ControlPlane.Contracts;
using ControlPlane.Contracts.Pools;
using ControlPlane.Domain.Pools;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace ControlPlane.Grains.Pools;

/// <summary>
/// A region's capacity index, fed by node grains on changes only, with group commit: its state holds every
/// node of the region, so one write per node change would rewrite the whole region for each node (at 100,000
/// GPUs a region's state is over a megabyte; a fleet coming up wrote it once per node). Updates that arrive
/// while a write is in flight wait, and the next write takes all of them. An update is answered only once a
/// write that holds it succeeded; a failed write reloads the stored state, so the node retries its update.
/// </summary>
[Reentrant]
public sealed partial class PoolGrain(
    [PersistentState("pool", "store")] IPersistentState<PoolState> state,
    ILogger<PoolGrain> logger) : Grain, IPoolGrain
{
    private readonly SemaphoreSlim _writer = new(1, 1);
    private List<PendingUpdate> _waiting = [];
    private PoolTotals? _totals;

    public async Task UpdateNodeAsync(NodeCapacity node)
    {
        if (state.State.Nodes.TryGetValue(node.NodeId, out var known) && (known.Version > node.Version || known == node))
        {
            return;
        }

        var update = new PendingUpdate(node);
        _waiting.Add(update);
        await _writer.WaitAsync();
        try
        {
            // An earlier writer may have taken this update into its group already.
            if (!update.Done.Task.IsCompleted)
            {
                await CommitGroupAsync();
            }
        }
        finally
        {
            _writer.Release();
        }

        await update.Done.Task;
    }

    public Task<PoolTotals> GetTotalsAsync() =>
        Task.FromResult(_totals ??= PoolTotals.Compute(GrainKeys.IdOf(this.GetPrimaryKeyString()), state.State.Nodes.Values));

    private async Task CommitGroupAsync()
    {
        var group = _waiting;
        _waiting = [];
        var nodes = state.State.Nodes;
        var changed = false;
        foreach (var update in group)
        {
            var node = update.Node;
            if (nodes.TryGetValue(node.NodeId, out var known) && (known.Version > node.Version || known == node))
            {
                continue;
            }

            nodes[node.NodeId] = node;
            changed = true;
        }

        try
        {
            if (changed)
            {
                _totals = null;
                await state.WriteStateAsync();
            }
        }
        catch (Exception e)
        {
            // Memory now holds capacities the database does not: go back to what it holds, and let the nodes retry.
            LogWriteFailed(e);
            _totals = null;
            try
            {
                await state.ReadStateAsync();
            }
            catch (Exception)
            {
                DeactivateOnIdle();
            }

            foreach (var update in group)
            {
                update.Done.TrySetException(e);
            }

            return;
        }

        foreach (var update in group)
        {
            update.Done.TrySetResult();
        }

        if (group.Count > 1)
        {
            LogGroupCommit(group.Count);
        }
    }

    private sealed record PendingUpdate(NodeCapacity Node)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Group commit of {Updates} node updates")]
    private partial void LogGroupCommit(int updates);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool write failed; reloading the stored state")]
    private partial void LogWriteFailed(Exception exception);
}
