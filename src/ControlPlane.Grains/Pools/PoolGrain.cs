using ControlPlane.Contracts;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Contracts.Pools;
using ControlPlane.Domain.Pools;
using Orleans.Concurrency;

namespace ControlPlane.Grains.Pools;

/// <summary>
/// A region's capacity index, fed by node grains on changes only and held in memory, not stored: every node grain
/// stores its own capacity, so an activation rebuilds the index from the region's nodes (listed by the fleet
/// directory) before it first answers totals, while their updates keep arriving. An update older than the one held
/// (by version), or equal to it, changes nothing, so the order in which a rebuild's answers and the nodes' updates
/// land never matters. (A stored index held every node of its region: at 100,000 GPUs over a megabyte rewritten for
/// each group of node changes, what bringing up a fleet waited on.)
/// </summary>
[Reentrant]
public sealed class PoolGrain : Grain, IPoolGrain
{
    /// <summary>Node grains asked at once while rebuilding.</summary>
    private const int RebuildBatch = 256;

    private readonly Dictionary<string, NodeCapacity> _nodes = new(StringComparer.Ordinal);
    private Task? _rebuilt;
    private PoolTotals? _totals;

    private string Region => GrainKeys.IdOf(this.GetPrimaryKeyString());

    public Task UpdateNodeAsync(NodeCapacity node)
    {
        Apply(node);
        return Task.CompletedTask;
    }

    public async Task<PoolTotals> GetTotalsAsync()
    {
        await (_rebuilt ??= RebuildAsync());
        return _totals ??= PoolTotals.Compute(Region, _nodes.Values);
    }

    /// <summary>Asks every node the directory lists in the region for its capacity; a failure leaves the next read to try again.</summary>
    private async Task RebuildAsync()
    {
        try
        {
            var ids = await GrainFactory.GetGrain<IFleetDirectoryGrain>(GrainKeys.FleetDirectory).ListNodesAsync(Region);
            foreach (var batch in ids.Chunk(RebuildBatch))
            {
                foreach (var capacity in await Task.WhenAll(batch.Select(id => GrainFactory.GetGrain<INodeGrain>(GrainKeys.Node(id)).GetCapacityAsync())))
                {
                    if (capacity is not null && string.Equals(capacity.Region, Region, StringComparison.Ordinal))
                    {
                        Apply(capacity);
                    }
                }
            }
        }
        catch
        {
            _rebuilt = null;
            throw;
        }
    }

    private void Apply(NodeCapacity node)
    {
        if (_nodes.TryGetValue(node.NodeId, out var known) && (known.Version > node.Version || known == node))
        {
            return;
        }

        _nodes[node.NodeId] = node;
        _totals = null;
    }
}
