using ControlPlane.Domain.Pools;

namespace ControlPlane.Contracts.Pools;

/// <summary>
/// A region's capacity index, keyed by <see cref="GrainKeys.Pool"/>. Nodes report their capacity here
/// when it changes (never per heartbeat).
/// </summary>
[Alias("IPoolGrain")]
public interface IPoolGrain : IGrainWithStringKey
{
    /// <summary>Records a node's capacity; an update older than the one held (by version) is ignored.</summary>
    [Alias("UpdateNodeAsync")]
    Task UpdateNodeAsync(NodeCapacity node);

    [Alias("GetTotalsAsync")]
    Task<PoolTotals> GetTotalsAsync();
}
