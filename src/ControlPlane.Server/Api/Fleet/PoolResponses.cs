using ControlPlane.Contracts.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Pools;

namespace ControlPlane.Server.Api.Fleet;

/// <summary>What GPUs do: dedicated (reserved and burst replicas), shared (serverless and batch), idle, or unavailable.</summary>
/// <param name="Idle">Free GPUs on ready nodes.</param>
/// <param name="Unavailable">Free GPUs on nodes that are not ready (enrolled, suspect, down).</param>
public sealed record GpuAllocation(int Dedicated, int Reserved, int Burst, int Shared, int Serverless, int Batch, int Idle, int Unavailable)
{
    public static GpuAllocation Of(IEnumerable<GpuUsageView> usage)
    {
        var u = usage.ToArray();
        int Sum(Func<GpuUsageView, int> f) => u.Sum(f);
        return new GpuAllocation(
            Sum(x => x.Reserved + x.Burst), Sum(x => x.Reserved), Sum(x => x.Burst),
            Sum(x => x.Serverless + x.Batch), Sum(x => x.Serverless), Sum(x => x.Batch),
            Sum(x => x.Idle), Sum(x => x.Unavailable));
    }
}

public sealed record SkuPoolResponse(
    string Sku,
    int GpusTotal,
    int GpusHealthy,
    int GpusUnhealthy,
    IReadOnlyDictionary<NodeStatus, int> GpusByStatus,
    GpuAllocation Allocation);

/// <summary>A region's capacity: what the pool grain counts (health) and what the scheduler placed (allocation).</summary>
public sealed record PoolResponse(
    string Region,
    int GpusTotal,
    int GpusHealthy,
    int GpusUnhealthy,
    IReadOnlyDictionary<NodeStatus, int> NodesByStatus,
    GpuAllocation Allocation,
    IReadOnlyList<SkuPoolResponse> Skus)
{
    public static PoolResponse From(PoolTotals totals, IReadOnlyList<GpuUsageView> usage)
    {
        var inRegion = usage.Where(u => u.Region == totals.Region).ToArray();
        return new PoolResponse(
            totals.Region,
            totals.GpusTotal,
            totals.GpusHealthy,
            totals.GpusTotal - totals.GpusHealthy,
            totals.NodesByStatus,
            GpuAllocation.Of(inRegion),
            totals.Skus
                .Select(s => new SkuPoolResponse(s.Sku, s.GpusTotal, s.GpusHealthy, s.GpusTotal - s.GpusHealthy, s.GpusByStatus, GpuAllocation.Of(inRegion.Where(u => u.Sku == s.Sku))))
                .ToArray());
    }
}
