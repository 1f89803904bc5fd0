using BenchmarkDotNet.Attributes;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;

namespace ControlPlane.Benchmarks.Placement;

/// <summary>
/// Decision latency of placing one replica on a region's snapshot: 8-GPU nodes of mixed SKUs, regions,
/// costs and owners, about 90% busy with batch, serverless, burst and reserved replicas of 1 to 8 GPUs, so
/// free GPUs are scattered in small pieces. A small replica finds free GPUs through the index; an 8-GPU one
/// finds no free node and runs the preemption search over every compatible node.
/// </summary>
[MemoryDiagnoser]
public class PlacementBenchmarks
{
    private static readonly (string Sku, long MemoryMiB, decimal CostPerGpu)[] Skus =
    [
        ("h100-sxm-80gb", 81_559, 2.20m),
        ("h200-141gb", 143_771, 3.10m),
        ("a100-80gb", 81_920, 1.40m),
        ("l40s-48gb", 46_068, 0.90m),
    ];

    private static readonly string[] Regions = ["eu-west", "us-east", "ap-south"];

    private FleetSnapshot _snapshot = null!;
    private DeploymentSpec _small = null!;
    private DeploymentSpec _whole = null!;
    private DeploymentSpec _large80 = null!;
    private int _sequence;

    [Params(1_000, 10_000, 100_000)]
    public int Gpus { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        var nodes = new List<PlacementNode>();
        for (var n = 0; n < Gpus / 8; n++)
        {
            var (sku, memory, costPerGpu) = Skus[random.Next(Skus.Length)];
            var ownership = random.Next(3) == 0 ? Ownership.Rented : Ownership.Owned;
            var cost = costPerGpu * 8 * (ownership == Ownership.Rented ? 1.25m : 1m);
            var node = PlacementNode.Create($"node-{n:D6}", Regions[random.Next(Regions.Length)], sku, memory, 8, cost, ownership);
            nodes.Add(node with { Slots = Fill(random, n) });
        }

        _snapshot = new FleetSnapshot(nodes);
        _small = Spec("serverless-8b", DeploymentClass.Serverless, gpus: 1, minMemoryGiB: 24);
        _whole = Spec("acme-405b", DeploymentClass.Dedicated, gpus: 8, minMemoryGiB: 80);
        _large80 = Spec("globex-70b", DeploymentClass.Dedicated, gpus: 4, minMemoryGiB: 80) with { Regions = ["eu-west"] };
    }

    /// <summary>A 1-GPU serverless replica: free GPUs exist, found through the free-GPU buckets.</summary>
    [Benchmark]
    public GpuClaim? PlanSmallFree() => PlacementPlanner.Plan(_snapshot, _small, ReplicaTier.Serverless);

    /// <summary>An 8-GPU burst replica on 80 GiB GPUs: no node is free, so shared work is preempted.</summary>
    [Benchmark]
    public GpuClaim? PlanWholeNodeByPreemption() => PlacementPlanner.Plan(_snapshot, _whole, ReplicaTier.Burst);

    /// <summary>A 4-GPU reserved replica limited to one region.</summary>
    [Benchmark]
    public GpuClaim? PlanReservedInRegion() => PlacementPlanner.Plan(_snapshot, _large80, ReplicaTier.Reserved);

    /// <summary>
    /// The whole decision for the 8-GPU replica: plan, apply the claim (preempting its victims), then put the
    /// node back as it was so that every iteration sees the same fleet (the restore is a second update of one node).
    /// </summary>
    [Benchmark]
    public ClaimOutcome PlanAndApplyWholeNode()
    {
        var claim = PlacementPlanner.Plan(_snapshot, _whole, ReplicaTier.Burst)!;
        var before = _snapshot.Find(claim.NodeId)!;
        var outcome = _snapshot.Apply(new GpuHolder($"acme-405b/{_sequence++}", _whole.DeploymentId, ReplicaTier.Burst), claim);
        _snapshot.Upsert(before);
        return outcome;
    }

    /// <summary>About 90% busy: replicas of 1 to 8 GPUs, tiers mixed, small free pieces left between them.</summary>
    private static NodeSlots Fill(Random random, int node)
    {
        var holders = new GpuHolder?[8];
        var gpu = 0;
        var replica = 0;
        while (gpu < 8)
        {
            if (random.NextDouble() < 0.1)
            {
                gpu++;
                continue;
            }

            var size = Math.Min(8 - gpu, random.Next(4) switch { 0 => 1, 1 => 2, 2 => 4, _ => 8 });
            var tier = random.Next(10) switch
            {
                < 4 => ReplicaTier.Batch,
                < 7 => ReplicaTier.Serverless,
                < 9 => ReplicaTier.Burst,
                _ => ReplicaTier.Reserved,
            };
            var holder = new GpuHolder($"r-{node}-{replica++}", $"d-{tier}-{size}", tier);
            for (var i = 0; i < size; i++)
            {
                holders[gpu++] = holder;
            }
        }

        return new NodeSlots(holders);
    }

    private static DeploymentSpec Spec(string id, DeploymentClass cls, int gpus, int minMemoryGiB) =>
        new(id, "model", cls, cls == DeploymentClass.Dedicated ? "acme" : null, gpus, minMemoryGiB, null, null, 0, 0, 100, 1_000m);
}
