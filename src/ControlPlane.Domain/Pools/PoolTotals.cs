using ControlPlane.Domain.Fleet;

namespace ControlPlane.Domain.Pools;

/// <summary>What a pool knows about one node: enough to count capacity without asking the node.</summary>
[GenerateSerializer, Alias("node-capacity")]
public sealed record NodeCapacity(
    [property: Id(0)] string NodeId,
    [property: Id(1)] string Region,
    [property: Id(2)] NodeStatus Status,
    [property: Id(3)] string? Sku,
    [property: Id(4)] int GpuCount,
    [property: Id(5)] int HealthyGpuCount,
    [property: Id(6)] long Version);

/// <summary>GPU counts of one SKU in a region.</summary>
[GenerateSerializer, Alias("sku-totals")]
public sealed record SkuTotals(
    [property: Id(0)] string Sku,
    [property: Id(1)] int GpusTotal,
    [property: Id(2)] int GpusHealthy,
    [property: Id(3)] IReadOnlyDictionary<NodeStatus, int> GpusByStatus);

/// <summary>A region's capacity.</summary>
[GenerateSerializer, Alias("pool-totals")]
public sealed record PoolTotals(
    [property: Id(0)] string Region,
    [property: Id(1)] int GpusTotal,
    [property: Id(2)] int GpusHealthy,
    [property: Id(3)] IReadOnlyDictionary<NodeStatus, int> NodesByStatus,
    [property: Id(4)] IReadOnlyList<SkuTotals> Skus)
{
    /// <summary>
    /// Totals over the nodes of a region. A GPU is healthy when its node is alive (ready, cordoned or
    /// draining: it heartbeats) and the GPU itself reports no uncorrected ECC errors. Nodes that have
    /// not reported inventory yet count as nodes but hold no GPUs.
    /// </summary>
    public static PoolTotals Compute(string region, IEnumerable<NodeCapacity> nodes)
    {
        var list = nodes.ToArray();
        var skus = list
            .Where(n => n.Sku is not null && n.GpuCount > 0)
            .GroupBy(n => n.Sku!, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new SkuTotals(
                g.Key,
                g.Sum(n => n.GpuCount),
                g.Sum(HealthyGpus),
                g.GroupBy(n => n.Status).OrderBy(s => s.Key).ToDictionary(s => s.Key, s => s.Sum(n => n.GpuCount))))
            .ToArray();

        return new PoolTotals(
            region,
            list.Sum(n => n.GpuCount),
            list.Sum(HealthyGpus),
            list.GroupBy(n => n.Status).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count()),
            skus);
    }

    private static int HealthyGpus(NodeCapacity node) => IsAlive(node.Status) ? node.HealthyGpuCount : 0;

    private static bool IsAlive(NodeStatus status) =>
        status is NodeStatus.Ready or NodeStatus.Cordoned or NodeStatus.Draining;
}
