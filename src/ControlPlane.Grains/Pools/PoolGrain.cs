using ControlPlane.Contracts;
using ControlPlane.Contracts.Pools;
using ControlPlane.Domain.Pools;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace ControlPlane.Grains.Pools;

/// <summary>
/// A region's capacity index, fed by node grains on changes only. Its state holds every node of the region, so
/// it commits in groups (<see cref="GroupCommit{TChange, TResult}"/>): one write per node change rewrote the whole region
/// for each node (at 100,000 GPUs a region's state is over a megabyte, and a fleet coming up wrote it once per node).
/// </summary>
[Reentrant]
public sealed class PoolGrain(
    [PersistentState("pool", "store")] IPersistentState<PoolState> state,
    ILogger<PoolGrain> logger) : Grain, IPoolGrain
{
    private GroupCommit<NodeCapacity, bool>? _commit;
    private PoolTotals? _totals;

    private GroupCommit<NodeCapacity, bool> Commit => _commit ??= new(
        Apply, () => state.WriteStateAsync(), e => state.ReloadAsync(this, logger, e, () => _totals = null));

    // Submitted even when memory already holds it: memory may hold a group whose write is still in flight, and
    // an update is answered only once the store holds it (a group of no news writes nothing).
    public Task UpdateNodeAsync(NodeCapacity node) => Commit.SubmitAsync(node);

    public Task<PoolTotals> GetTotalsAsync() =>
        Task.FromResult(_totals ??= PoolTotals.Compute(GrainKeys.IdOf(this.GetPrimaryKeyString()), state.State.Nodes.Values));

    /// <summary>An update older than the one held (by version), or equal to it, changes nothing.</summary>
    private bool IsNews(NodeCapacity node) =>
        !state.State.Nodes.TryGetValue(node.NodeId, out var known) || (known.Version <= node.Version && known != node);

    private (bool, bool Changed) Apply(NodeCapacity node)
    {
        if (!IsNews(node))
        {
            return (false, false);
        }

        state.State.Nodes[node.NodeId] = node;
        _totals = null;
        return (true, true);
    }
}
