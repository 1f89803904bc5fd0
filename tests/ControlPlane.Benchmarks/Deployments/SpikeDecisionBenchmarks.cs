using BenchmarkDotNet.Attributes;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;

namespace ControlPlane.Benchmarks.Deployments;

/// <summary>
/// Decision latency from a demand signal to every claim decided: the scheduler's whole reaction to a dedicated
/// spike on a fleet that batch work fills. The dedicated deployment (8-GPU replicas on 80 GiB GPUs) goes from 0 to
/// about 13% of the fleet, reserved replicas first, then burst, each one preempting batch replicas; the batch
/// replicas it displaced find no free GPU and are left unplaced. This is what <c>SchedulerGrain</c> computes before
/// it sends the claims to the node grains (the messages themselves are not in this figure).
/// </summary>
[MemoryDiagnoser]
public class SpikeDecisionBenchmarks
{
    private static readonly (string Sku, long MemoryMiB, decimal CostPerGpu)[] Skus =
    [
        ("h100-sxm-80gb", 81_559, 2.20m),
        ("h200-141gb", 143_771, 3.10m),
        ("a100-80gb", 81_920, 1.40m),
    ];

    private CapacityScheduler _scheduler = null!;
    private DeploymentSpec _dedicated = null!;

    [Params(1_000, 10_000)]
    public int Gpus { get; set; }

    [IterationSetup]
    public void Setup()
    {
        var random = new Random(42);
        _scheduler = new CapacityScheduler(new Random(7));
        for (var n = 0; n < Gpus / 8; n++)
        {
            var (sku, memory, costPerGpu) = Skus[random.Next(Skus.Length)];
            var ownership = random.Next(3) == 0 ? Ownership.Rented : Ownership.Owned;
            var node = PlacementNode.Create($"node-{n:D6}", n % 2 == 0 ? "eu-west" : "us-east", sku, memory, 8, costPerGpu * 8, ownership);
            _scheduler.SetNode(node, NodeHealth.Ready, NodeScheduling.Schedulable, [], 1);
        }

        var batch = new DeploymentSpec("batch", "llama-3-8b", DeploymentClass.Batch, null, 1, 0, null, null, 0, 0, Gpus, 500m);
        _scheduler.SetDeployment(new ScheduledDeployment(batch, Gpus, 1));
        var replicas = Gpus / 64;
        _dedicated = new DeploymentSpec("acme", "llama-3-405b", DeploymentClass.Dedicated, "acme", 8, 80, null, null, 0, replicas / 4, replicas, 2_000m);
        _scheduler.SetDeployment(new ScheduledDeployment(_dedicated, 0, 1));
        _scheduler.Settle();
    }

    /// <summary>The spike: desired goes to the maximum and the scheduler settles (every claim decided, victims tried again).</summary>
    [Benchmark]
    public int Spike()
    {
        _scheduler.SetDeployment(new ScheduledDeployment(_dedicated, _dedicated.MaxReplicas, 1));
        return _scheduler.Settle().Count;
    }
}
