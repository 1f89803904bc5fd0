using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;
using ControlPlane.Domain.Tests.Placement;
using CsCheck;

namespace ControlPlane.Domain.Tests.Deployments;

/// <summary>
/// Random fleets, deployments, demand, node failures, drains and replicas turning ready, run through the scheduler
/// the grains use. After every step: no GPU is held twice, no claim preempts an equal or higher tier, and every
/// admitted reservation that demand asks for is placed while the fleet still holds it.
/// </summary>
public sealed class CapacitySchedulerPropertyTests
{
    private static readonly Gen<PlacementNode[]> Fleets =
        Gen.Select(Gen.Int[0, 2], Gen.OneOf(4, 8), Gen.OneOf(16m, 20m), Gen.Enum<Ownership>(), Gen.OneOf("eu-west", "us-east"))
            .Array[2, 8]
            .Select(nodes => nodes.Select((n, i) =>
            {
                var (sku, memory) = n.Item1 switch { 0 => (TestFleet.H100, TestFleet.H100MiB), 1 => (TestFleet.A100, TestFleet.A100MiB), _ => (TestFleet.L4, TestFleet.L4MiB) };
                // Every other node's agent puts engines to sleep, so headroom above what must run sleeps there at once.
                return TestFleet.Node($"n{i}", n.Item2, n.Item3, n.Item4, sku, memory, n.Item5) with { SleepBudgetBytes = i % 2 == 0 ? 300 : null };
            }).ToArray());

    private static readonly Gen<DeploymentSpec[]> Specs =
        Gen.Select(
                Gen.Frequency((3, Gen.Const(DeploymentClass.Dedicated)), (2, Gen.Const(DeploymentClass.Serverless)), (2, Gen.Const(DeploymentClass.Batch))),
                Gen.OneOf(1, 2, 4, 8),
                Gen.OneOf(0, 0, 40, 80),
                Gen.Int[0, 3],
                Gen.Int[1, 8])
            .Array[1, 6]
            .Select(specs => specs.Select((s, i) =>
            {
                var (cls, gpus, memory, reserved, max) = s;
                var r = cls == DeploymentClass.Dedicated ? Math.Min(reserved, max) : 0;
                return TestFleet.Spec($"d{i}", gpus, cls, r, max, memory) with { MinGpuMemoryGiB = memory };
            }).ToArray());

    private abstract record Step;

    /// <summary>A deployment wants <paramref name="Desired"/> replicas, of which <paramref name="Awake"/> must run (null: all).</summary>
    private sealed record DemandStep(int Deployment, int Desired, int? Awake) : Step;

    /// <summary>
    /// A node reports an engine of a deployment asleep on GPUs from <paramref name="FirstGpu"/> (as an agent would after a
    /// scale-down), or, with <paramref name="Clear"/>, that it stopped its sleeping engines.
    /// </summary>
    private sealed record SleepStep(int Node, int Deployment, int FirstGpu, bool Clear) : Step;

    private sealed record DownStep(int Node) : Step;

    private sealed record UpStep(int Node) : Step;

    private sealed record DrainStep(int Node) : Step;

    private sealed record ReadyStep : Step;

    /// <summary>A node's model cache changes: it holds "model" warm or not, with room for it or none.</summary>
    private sealed record CacheStep(int Node, bool Warm, long FreeBytes) : Step;

    private static readonly Gen<Step> Steps = Gen.Frequency<Step>(
        (8, Gen.Select(Gen.Int[0, 5], Gen.Int[0, 8], Gen.Int[-1, 8]).Select(Step (d, n, a) => new DemandStep(d, n, a < 0 ? null : Math.Min(a, n)))),
        (2, Gen.Select(Gen.Int[0, 7], Gen.Int[0, 5], Gen.Int[0, 7], Gen.Int[0, 4]).Select(Step (n, d, g, c) => new SleepStep(n, d, g, c == 0))),
        (1, Gen.Int[0, 7].Select(Step (n) => new DownStep(n))),
        (2, Gen.Int[0, 7].Select(Step (n) => new UpStep(n))),
        (1, Gen.Int[0, 7].Select(Step (n) => new DrainStep(n))),
        (3, Gen.Const<Step>(new ReadyStep())),
        (2, Gen.Select(Gen.Int[0, 7], Gen.Bool, Gen.OneOf(0L, 50L, 1_000L)).Select(Step (n, w, f) => new CacheStep(n, w, f))));

    [Fact]
    public void AnyLife_NoGpuTwiceNoUpwardPreemptionAndAdmittedReservationsPlaced()
    {
        Gen.Select(Fleets, Specs, Steps.Array[1, 40]).Sample((fleet, specs, steps) =>
        {
            var scheduler = new CapacityScheduler(new Random(3));
            var versions = new Dictionary<string, long>();
            foreach (var node in fleet)
            {
                Set(node, NodeHealth.Ready, NodeScheduling.Schedulable);
            }

            var admitted = specs.Where(s =>
            {
                if (!scheduler.CanAdmit(s))
                {
                    return false;
                }

                scheduler.SetDeployment(new ScheduledDeployment(s, 0, 1));
                return true;
            }).ToArray();

            foreach (var step in steps)
            {
                switch (step)
                {
                    case DemandStep(var d, var desired, var awake) when admitted.Length > 0:
                        var spec = admitted[d % admitted.Length];
                        scheduler.SetDeployment(new ScheduledDeployment(spec, Math.Min(desired, spec.MaxReplicas), 1, awake));
                        break;
                    case SleepStep(var n, var d, var first, var clear) when admitted.Length > 0
                        && scheduler.Snapshot.Find(fleet[n % fleet.Length].NodeId) is { Schedulable: true } host:
                        var sleeper = admitted[d % admitted.Length];
                        var gpus = Enumerable.Range(first, sleeper.GpusPerReplica).Where(g => g < host.GpuCount).ToArray();
                        SleepingEngine[] engines = clear || gpus.Length != sleeper.GpusPerReplica
                            ? []
                            : [.. host.Sleeping ?? [], new SleepingEngine(sleeper.DeploymentId, sleeper.Model, gpus, 100)];
                        Set(host with { Sleeping = engines }, NodeHealth.Ready, NodeScheduling.Schedulable, keep: true);
                        break;
                    case DownStep(var n):
                        var down = fleet[n % fleet.Length];
                        Set(down with { Schedulable = false }, NodeHealth.Down, NodeScheduling.Schedulable);
                        break;
                    case UpStep(var n):
                        var up = fleet[n % fleet.Length];
                        var current = scheduler.Snapshot.Find(up.NodeId)!;
                        Set(current with { Schedulable = true }, NodeHealth.Ready, NodeScheduling.Schedulable, keep: true);
                        break;
                    case DrainStep(var n):
                        var drained = scheduler.Snapshot.Find(fleet[n % fleet.Length].NodeId)!;
                        Set(drained with { Schedulable = false }, NodeHealth.Ready, NodeScheduling.Draining, keep: true);
                        break;
                    case ReadyStep:
                        foreach (var r in scheduler.Replicas().ToArray())
                        {
                            scheduler.SetReplicaState(r.Replica.ReplicaId, ReplicaState.Ready);
                        }

                        break;
                    case CacheStep(var n, var warm, var free) when scheduler.Snapshot.Find(fleet[n % fleet.Length].NodeId) is { Schedulable: true } cached:
                        Set(cached with { WarmModels = warm ? [new WarmModel("model", 100)] : [], CacheFreeBytes = free }, NodeHealth.Ready, NodeScheduling.Schedulable, keep: true);
                        break;
                }

                var decisions = scheduler.Settle(maxPasses: 20);
                Check(scheduler, decisions);
                CheckPrestaging(scheduler);
            }

            void Set(PlacementNode node, NodeHealth health, NodeScheduling scheduling, bool keep = false)
            {
                var version = versions[node.NodeId] = versions.GetValueOrDefault(node.NodeId) + 1;
                var slots = keep ? node.Slots : NodeSlots.Empty(node.GpuCount);
                var replicas = keep ? scheduler.Replicas().Where(r => r.NodeId == node.NodeId).Select(r => r.Replica).ToArray() : [];
                scheduler.SetNode(node with { Slots = slots }, health, scheduling, replicas, version);
            }
        }, iter: 400);
    }

    /// <summary>Pre-staging leaves the model as it found it, and asks only for what is cold and fits where it is asked.</summary>
    private static void CheckPrestaging(CapacityScheduler scheduler)
    {
        var before = scheduler.Snapshot.Nodes.Select(n => n.Slots).ToArray();
        var lists = scheduler.Prestage();
        Assert.Equal(before, scheduler.Snapshot.Nodes.Select(n => n.Slots).ToArray());
        foreach (var (nodeId, models) in lists)
        {
            var node = scheduler.Snapshot.Find(nodeId)!;
            Assert.True(node.Schedulable);
            Assert.All(models, m => Assert.False(node.IsWarm(m)));
            Assert.True(node.CacheFreeBytes >= models.Sum(m => scheduler.Snapshot.ModelBytes(m) ?? 0));
        }
    }

    private static void Check(CapacityScheduler scheduler, IReadOnlyList<SchedulingDecision> decisions)
    {
        // Every claim takes only free GPUs or GPUs of strictly lower tiers; a wake never preempts its own deployment, and
        // the engine it woke is no longer asleep.
        foreach (var claim in decisions.OfType<ClaimDecision>())
        {
            Assert.All(claim.Preempted, v => Assert.True(v.Tier < claim.Replica.Tier, $"{claim.Replica.ReplicaId} ({claim.Replica.Tier}) preempted {v.ReplicaId} ({v.Tier})"));
            if (claim.Wakes)
            {
                // A batch wake preempts nothing: nothing ranks below batch.
                Assert.True(claim.Replica.Tier != ReplicaTier.Batch || claim.Preempted.Length == 0);
                Assert.All(claim.Preempted, v => Assert.NotEqual(claim.Replica.DeploymentId, v.DeploymentId));
            }
        }

        // Headroom held asleep never adds replicas beyond what is desired, or for a dedicated deployment with an awake count,
        // its reservation (placed to sleep): no deployment holds an ordinal at or above that.
        foreach (var deployment in scheduler.Deployments.Values)
        {
            var spec = deployment.Spec;
            var most = deployment.Awake is not null && spec.Class == DeploymentClass.Dedicated
                ? Math.Max(deployment.Desired, Math.Min(spec.ReservedReplicas, spec.MaxReplicas))
                : deployment.Desired;
            Assert.All(scheduler.ReplicasOf(spec.DeploymentId), r => Assert.True(r.Replica.Ordinal < most, $"{r.Replica.ReplicaId} above {most} desired or reserved"));
        }

        // The model's replicas and the slot maps agree: each replica's GPUs are its own, on one node.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in scheduler.Snapshot.Nodes)
        {
            foreach (var holder in node.Slots.Replicas())
            {
                Assert.True(seen.Add(holder.ReplicaId), $"{holder.ReplicaId} holds GPUs on two nodes");
            }
        }

        foreach (var replica in scheduler.Replicas())
        {
            var node = scheduler.Snapshot.Find(replica.NodeId)!;
            Assert.Equal(replica.Replica.GpuIndices, node.Slots.GpusOf(replica.Replica.ReplicaId));
        }

        Assert.Equal(seen.Count, scheduler.ReplicaCount);

        // With the fleet still holding every reservation, the reserved replicas demand asks for are all placed (one
        // being replaced make-before-break still holds its ordinal until its successor is ready).
        if (scheduler.DegradedReservations.Count == 0)
        {
            foreach (var deployment in scheduler.Deployments.Values.Where(d => d.Spec.Class == DeploymentClass.Dedicated))
            {
                var wanted = Math.Min(Math.Min(deployment.Desired, deployment.Awake ?? deployment.Desired), deployment.Spec.ReservedReplicas);
                var placed = scheduler.ReplicasOf(deployment.Spec.DeploymentId)
                    .Where(r => r.Replica.Tier == ReplicaTier.Reserved && r.Replica.Ordinal < wanted)
                    .Select(r => r.Replica.Ordinal)
                    .Distinct()
                    .Count();
                Assert.True(placed >= wanted, $"{deployment.Spec.DeploymentId}: {placed} of {wanted} reserved replicas placed");
            }
        }
    }
}
