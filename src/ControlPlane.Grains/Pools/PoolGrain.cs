using ControlPlane.Contracts;
using ControlPlane.Contracts.Pools;
using ControlPlane.Domain.Pools;

namespace ControlPlane.Grains.Pools;

/// <summary>A region's capacity index, fed by node grains on changes only.</summary>
public sealed class PoolGrain(
    [PersistentState("pool", "store")] IPersistentState<PoolState> state) : Grain, IPoolGrain
{
    private PoolTotals? _totals;

    public async Task UpdateNodeAsync(NodeCapacity node)
    {
        var nodes = state.State.Nodes;
        if (nodes.TryGetValue(node.NodeId, out var known) && (known.Version > node.Version || known == node))
        {
            return;
        }

        nodes[node.NodeId] = node;
        _totals = null;
        await state.WriteStateAsync();
    }

    public Task<PoolTotals> GetTotalsAsync() =>
        Task.FromResult(_totals ??= PoolTotals.Compute(GrainKeys.IdOf(this.GetPrimaryKeyString()), state.State.Nodes.Values));
}
