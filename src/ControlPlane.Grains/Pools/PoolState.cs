using ControlPlane.Domain.Pools;

namespace ControlPlane.Grains.Pools;

[GenerateSerializer, Alias("pool-state")]
public sealed class PoolState
{
    /// <summary>The last capacity each node of the region reported, by node id.</summary>
    [Id(0)] public Dictionary<string, NodeCapacity> Nodes { get; set; } = new(StringComparer.Ordinal);
}
