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
        _snapshot = PlacementFleet.Create(Gpus, seed: 42);
        _small = PlacementFleet.Spec("serverless-8b", DeploymentClass.Serverless, gpus: 1, minMemoryGiB: 24);
        _whole = PlacementFleet.Spec("acme-405b", DeploymentClass.Dedicated, gpus: 8, minMemoryGiB: 80);
        _large80 = PlacementFleet.Spec("globex-70b", DeploymentClass.Dedicated, gpus: 4, minMemoryGiB: 80) with { Regions = ["eu-west"] };
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
}
