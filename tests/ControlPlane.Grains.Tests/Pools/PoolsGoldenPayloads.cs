using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Pools;
using ControlPlane.Grains.Pools;

namespace ControlPlane.Grains.Tests.Pools;

/// <summary>What the golden payloads of Pools/Golden/ hold (see <see cref="Storage.GoldenPayloads"/>).</summary>
public static class PoolsGoldenPayloads
{
    public static PoolState Pool() => new()
    {
        Nodes = new(StringComparer.Ordinal)
        {
            ["gpu-eu-1"] = new NodeCapacity("gpu-eu-1", "eu-west", NodeStatus.Draining, "h100-80gb", 8, 7, 31),
            ["gpu-eu-2"] = new NodeCapacity("gpu-eu-2", "eu-west", NodeStatus.Cordoned, "h200-141gb", 4, 4, 2),
        },
    };
}
