using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Pools;
using CsCheck;

namespace ControlPlane.Domain.Tests.Pools;

public sealed class PoolTotalsTests
{
    private static readonly Gen<NodeCapacity> Node =
        Gen.Select(
            Gen.Int[0, 10_000],
            Gen.Enum<NodeStatus>(),
            Gen.OneOf<string?>("h100-sxm-80gb", "h200-141gb", "l4-24gb", null),
            Gen.Int[0, 8],
            Gen.Int[0, 8])
        .Select((id, status, sku, gpus, healthy) => new NodeCapacity(
            $"n{id}", "eu-west", status, gpus == 0 ? null : sku, sku is null ? 0 : gpus, Math.Min(healthy, sku is null ? 0 : gpus), 1));

    [Fact]
    public void Compute_AnyFleet_CountsEveryGpuOnceAndHealthyNeverExceedsTotal()
    {
        Node.Array[0, 200].Sample(nodes =>
        {
            var totals = PoolTotals.Compute("eu-west", nodes);
            return totals.GpusTotal == nodes.Sum(n => n.GpuCount)
                && totals.GpusTotal == totals.Skus.Sum(s => s.GpusTotal)
                && totals.Skus.All(s => s.GpusTotal == s.GpusByStatus.Values.Sum())
                && totals.GpusHealthy == totals.Skus.Sum(s => s.GpusHealthy)
                && totals.GpusHealthy <= totals.GpusTotal
                && totals.NodesByStatus.Values.Sum() == nodes.Length;
        });
    }

    [Fact]
    public void Compute_SuspectAndDownNodes_HaveNoHealthyGpus()
    {
        var totals = PoolTotals.Compute("eu-west",
        [
            new NodeCapacity("a", "eu-west", NodeStatus.Ready, "h200-141gb", 8, 8, 1),
            new NodeCapacity("b", "eu-west", NodeStatus.Suspect, "h200-141gb", 8, 8, 1),
            new NodeCapacity("c", "eu-west", NodeStatus.Down, "h200-141gb", 8, 8, 1),
            new NodeCapacity("d", "eu-west", NodeStatus.Cordoned, "h200-141gb", 8, 7, 1),
            new NodeCapacity("e", "eu-west", NodeStatus.Enrolled, null, 0, 0, 1),
        ]);

        Assert.Equal(32, totals.GpusTotal);
        Assert.Equal(15, totals.GpusHealthy);
        Assert.Equal(5, totals.NodesByStatus.Values.Sum());
        var sku = Assert.Single(totals.Skus);
        Assert.Equal(8, sku.GpusByStatus[NodeStatus.Down]);
    }
}
