using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;
using ControlPlane.Domain.Tests.Placement;

namespace ControlPlane.Domain.Tests.Deployments;

public sealed class CapacitySchedulerTests
{
    private static CapacityScheduler Fleet(int nodes, int gpus = 8)
    {
        var scheduler = new CapacityScheduler(new Random(1));
        for (var i = 0; i < nodes; i++)
        {
            scheduler.SetNode(TestFleet.Node($"n{i}", gpus), NodeHealth.Ready, NodeScheduling.Schedulable, [], 1);
        }

        return scheduler;
    }

    private static DeploymentSpec Batch(int max = 100) => TestFleet.Spec("batch", gpus: 1, cls: DeploymentClass.Batch, max: max);

    private static DeploymentSpec Dedicated(int reserved, int max, int gpus = 2) => TestFleet.Spec("ded", gpus: gpus, reserved: reserved, max: max);

    private static void Ready(CapacityScheduler scheduler)
    {
        foreach (var r in scheduler.Replicas().ToArray())
        {
            scheduler.SetReplicaState(r.Replica.ReplicaId, ReplicaState.Ready);
        }
    }

    [Fact]
    public void SetNode_NodesOutsideAHonouredLayout_KeepTheLayoutAndANodeInsideItMovesIt()
    {
        var scheduler = Fleet(2);
        scheduler.SetDeployment(new ScheduledDeployment(Dedicated(reserved: 4, max: 4, gpus: 4), 4, 1));
        scheduler.Settle();
        var layout = scheduler.Layout!;
        Assert.Equal(4, layout.ReplicasOf("ded"));

        // A fleet coming up around it: the honoured layout is not recomputed over the fleet per node.
        for (var i = 2; i < 6; i++)
        {
            scheduler.SetNode(TestFleet.Node($"n{i}", 8), NodeHealth.Ready, NodeScheduling.Schedulable, [], 1);
            scheduler.Settle();
        }

        Assert.Same(layout, scheduler.Layout);

        // One of its own nodes leaves: the room it held moves to nodes that can hold it.
        var held = layout.Entries.First().NodeId;
        scheduler.SetNode(TestFleet.Node(held, 8) with { Schedulable = false }, NodeHealth.Ready, NodeScheduling.Cordoned, [], 2);
        scheduler.Settle();

        Assert.NotSame(layout, scheduler.Layout);
        Assert.Equal(4, scheduler.Layout!.ReplicasOf("ded"));
        Assert.Empty(scheduler.Layout.On(held));
        Assert.Empty(scheduler.DegradedReservations);
    }

    [Fact]
    public void Settle_BatchWantingMoreThanTheFleet_FillsEveryGpuAndReportsTheRestUnplaced()
    {
        var scheduler = Fleet(2);
        scheduler.SetDeployment(new ScheduledDeployment(Batch(20), 20, 1));

        var decisions = scheduler.Settle();

        Assert.Equal(16, decisions.OfType<ClaimDecision>().Count());
        Assert.Equal(16, scheduler.ReplicaCount);
        var usage = scheduler.Usage().Single();
        Assert.Equal((16, 0), (usage.Batch, usage.Idle));
        Assert.Contains(decisions, d => d is UnplacedDecision { DeploymentId: "batch" });
    }

    [Fact]
    public void Settle_DedicatedSpikeOnAFullFleet_PreemptsBatchReservedFirstAndBatchTakesNoGpuBack()
    {
        var scheduler = Fleet(2);
        scheduler.SetDeployment(new ScheduledDeployment(Batch(16), 16, 1));
        scheduler.Settle();
        Assert.True(scheduler.CanAdmit(Dedicated(reserved: 2, max: 6)));
        scheduler.SetDeployment(new ScheduledDeployment(Dedicated(reserved: 2, max: 6), 5, 1));

        var decisions = scheduler.Settle();

        var claims = decisions.OfType<ClaimDecision>().Where(c => c.Replica.DeploymentId == "ded").ToArray();
        Assert.Equal(5, claims.Length);
        Assert.Equal([ReplicaTier.Reserved, ReplicaTier.Reserved, ReplicaTier.Burst, ReplicaTier.Burst, ReplicaTier.Burst], claims.Select(c => c.Replica.Tier));
        Assert.Equal(10, scheduler.Preemptions);
        Assert.All(claims.SelectMany(c => c.Preempted), v => Assert.Equal(ReplicaTier.Batch, v.Tier));
        var usage = scheduler.Usage().Single();
        Assert.Equal((4, 6, 6, 0), (usage.Reserved, usage.Burst, usage.Batch, usage.Idle));
    }

    [Fact]
    public void Settle_DemandFalls_ReleasesBurstFirstAndBatchRefillsTheGpus()
    {
        var scheduler = Fleet(2);
        scheduler.SetDeployment(new ScheduledDeployment(Batch(16), 16, 1));
        scheduler.SetDeployment(new ScheduledDeployment(Dedicated(reserved: 2, max: 6), 5, 1));
        scheduler.Settle();

        scheduler.SetDeployment(new ScheduledDeployment(Dedicated(reserved: 2, max: 6), 2, 1));
        scheduler.Settle();

        Assert.Equal([0, 1], scheduler.ReplicasOf("ded").Select(r => r.Replica.Ordinal));
        Assert.All(scheduler.ReplicasOf("ded"), r => Assert.Equal(ReplicaTier.Reserved, r.Replica.Tier));
        var usage = scheduler.Usage().Single();
        Assert.Equal((4, 0, 12, 0), (usage.Reserved, usage.Burst, usage.Batch, usage.Idle));
    }

    [Fact]
    public void CanAdmit_ReservationLargerThanTheFleetLessOtherReservations_IsRefused()
    {
        var scheduler = Fleet(2);
        scheduler.SetDeployment(new ScheduledDeployment(Batch(16), 16, 1));
        scheduler.SetDeployment(new ScheduledDeployment(TestFleet.Spec("other", gpus: 4, reserved: 3, max: 3), 0, 1));

        Assert.False(scheduler.CanAdmit(TestFleet.Spec("big", gpus: 4, reserved: 2, max: 2)));
        Assert.True(scheduler.CanAdmit(TestFleet.Spec("big", gpus: 4, reserved: 1, max: 2)));
    }

    [Fact]
    public void Settle_NodeGoesDown_ReplicasArePlacedElsewhere()
    {
        var scheduler = Fleet(3);
        scheduler.SetDeployment(new ScheduledDeployment(Dedicated(reserved: 2, max: 2, gpus: 8), 2, 1));
        scheduler.Settle();
        var lost = scheduler.ReplicasOf("ded")[0].NodeId;

        scheduler.SetNode(TestFleet.Node(lost, schedulable: false), NodeHealth.Down, NodeScheduling.Schedulable, [], 2);
        scheduler.Settle();

        var nodes = scheduler.ReplicasOf("ded").Select(r => r.NodeId).ToArray();
        Assert.Equal(2, nodes.Length);
        Assert.DoesNotContain(lost, nodes);
        Assert.Equal(2, nodes.Distinct().Count());
    }

    [Fact]
    public void Settle_Drain_PlacesTheReplacementFirstAndStopsTheOldOnlyOnceItIsReady()
    {
        var scheduler = Fleet(2);
        scheduler.SetDeployment(new ScheduledDeployment(Dedicated(reserved: 1, max: 1, gpus: 8), 1, 1));
        scheduler.Settle();
        Ready(scheduler);
        var old = scheduler.ReplicasOf("ded").Single();

        var draining = scheduler.Snapshot.Find(old.NodeId)! with { Schedulable = false };
        scheduler.SetNode(draining, NodeHealth.Ready, NodeScheduling.Draining, [old.Replica], 2);
        scheduler.Settle();

        var both = scheduler.ReplicasOf("ded");
        Assert.Equal(2, both.Count);
        Assert.True(both.Single(r => r.Replica.ReplicaId == old.Replica.ReplicaId).Moving);
        var fresh = both.Single(r => r.Replica.ReplicaId != old.Replica.ReplicaId);
        Assert.NotEqual(old.NodeId, fresh.NodeId);
        Assert.Single(scheduler.EndpointsOf("ded"));

        scheduler.SetReplicaState(fresh.Replica.ReplicaId, ReplicaState.Ready);
        var decisions = scheduler.Settle();

        Assert.Contains(new ReleaseDecision(old.Replica.ReplicaId, old.NodeId, ReleaseReason.Replaced), decisions);
        Assert.Equal(fresh.Replica.ReplicaId, scheduler.ReplicasOf("ded").Single().Replica.ReplicaId);
    }

    [Fact]
    public void Settle_Migration_ReplacesOneReplicaAtATimeNeverBelowTheReadyCount()
    {
        var scheduler = new CapacityScheduler(new Random(1));
        for (var i = 0; i < 3; i++)
        {
            scheduler.SetNode(TestFleet.Node($"old{i}", 8, sku: TestFleet.A100, memoryMiB: TestFleet.A100MiB), NodeHealth.Ready, NodeScheduling.Schedulable, [], 1);
            scheduler.SetNode(TestFleet.Node($"new{i}", 8), NodeHealth.Ready, NodeScheduling.Schedulable, [], 1);
        }

        var spec = TestFleet.Spec("ded", gpus: 8, reserved: 3, max: 3, skus: [TestFleet.A100]);
        scheduler.SetDeployment(new ScheduledDeployment(spec, 3, 1));
        scheduler.Settle();
        Ready(scheduler);

        scheduler.SetDeployment(new ScheduledDeployment(spec with { Skus = [TestFleet.H100] }, 3, 2));
        for (var round = 0; round < 10; round++)
        {
            scheduler.Settle();
            Assert.True(scheduler.EndpointsOf("ded").Count >= 3);
            Assert.True(scheduler.ReplicasOf("ded").Count <= 4);
            Ready(scheduler);
        }

        Assert.All(scheduler.ReplicasOf("ded"), r => Assert.StartsWith("new", r.NodeId));
        Assert.Equal(3, scheduler.ReplicasOf("ded").Count);
    }

    [Fact]
    public void Settle_DeletedDeployment_ReleasesItsReplicas()
    {
        var scheduler = Fleet(1);
        scheduler.SetDeployment(new ScheduledDeployment(Batch(4), 4, 1));
        scheduler.Settle();

        scheduler.RemoveDeployment("batch");
        var decisions = scheduler.Settle();

        Assert.Equal(4, decisions.OfType<ReleaseDecision>().Count(r => r.Reason == ReleaseReason.Orphaned));
        Assert.Equal(0, scheduler.ReplicaCount);
    }

    [Fact]
    public void SetNode_OlderVersion_IsIgnored()
    {
        var scheduler = Fleet(1);
        Assert.False(scheduler.SetNode(TestFleet.Node("n0", schedulable: false), NodeHealth.Down, NodeScheduling.Schedulable, [], 0));
        Assert.True(scheduler.Snapshot.Find("n0")!.Schedulable);
    }

    [Fact]
    public void CanAdmit_AnotherRegionLostTheNodesOfItsReservation_StillAdmitsHere()
    {
        var scheduler = new CapacityScheduler(new Random(1));
        scheduler.SetNode(TestFleet.Node("west", region: "eu-west"), NodeHealth.Ready, NodeScheduling.Schedulable, [], 1);
        scheduler.SetNode(TestFleet.Node("east", region: "us-east"), NodeHealth.Ready, NodeScheduling.Schedulable, [], 1);
        scheduler.SetDeployment(new ScheduledDeployment(TestFleet.Spec("west-ded", gpus: 8, reserved: 1, regions: ["eu-west"]), 1, 1));
        scheduler.Settle();

        scheduler.SetNode(TestFleet.Node("west", region: "eu-west", schedulable: false), NodeHealth.Down, NodeScheduling.Schedulable, [], 2);

        Assert.True(scheduler.CanAdmit(TestFleet.Spec("east-ded", gpus: 4, reserved: 2, regions: ["us-east"])));
        Assert.False(scheduler.CanAdmit(TestFleet.Spec("east-big", gpus: 8, reserved: 2, regions: ["us-east"])));
        Assert.Equal(["west-ded"], scheduler.DegradedReservations);
    }

    /// <summary>Scales the dedicated deployment from 4 to 2 and reports the released replicas asleep where they ran, as their agents would.</summary>
    private static (DeploymentSpec Spec, Dictionary<int, (string NodeId, int[] Gpus)> Slept) SleepTwoOfFour(CapacityScheduler scheduler)
    {
        var spec = Dedicated(reserved: 2, max: 6);
        scheduler.SetDeployment(new ScheduledDeployment(Batch(16), 16, 1));
        scheduler.SetDeployment(new ScheduledDeployment(spec, 4, 1));
        scheduler.Settle();
        Ready(scheduler);
        var where = scheduler.ReplicasOf("ded").ToDictionary(r => r.Replica.Ordinal, r => (r.NodeId, r.Replica.GpuIndices));

        scheduler.SetDeployment(new ScheduledDeployment(spec, 2, 1));
        var released = scheduler.Settle().OfType<ReleaseDecision>().Where(r => r.ReplicaId.StartsWith("ded.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, released.Length);
        var slept = new Dictionary<int, (string NodeId, int[] Gpus)> { [2] = where[2], [3] = where[3] };
        foreach (var group in slept.Values.GroupBy(w => w.NodeId))
        {
            var node = scheduler.Snapshot.Find(group.Key)!;
            var engines = group.Select(w => new SleepingEngine("ded", spec.Model, w.Gpus, 100)).ToArray();
            scheduler.SetNode(node with { Sleeping = engines }, NodeHealth.Ready, NodeScheduling.Schedulable, scheduler.ReplicasOn(group.Key), 2);
        }

        return (spec, slept);
    }

    [Fact]
    public void Settle_HeadroomAboveAwakeWithEnginesAsleep_RunsOnlyTheAwakeReplicasAndShareWorkTakesTheirGpus()
    {
        var scheduler = Fleet(2);
        var (spec, _) = SleepTwoOfFour(scheduler);

        scheduler.SetDeployment(new ScheduledDeployment(spec, 4, 1, Awake: 2));
        var decisions = scheduler.Settle();

        Assert.DoesNotContain(decisions.OfType<ClaimDecision>(), c => c.Replica.DeploymentId == "ded");
        Assert.Equal([0, 1], scheduler.ReplicasOf("ded").Select(r => r.Replica.Ordinal));
        var usage = scheduler.Usage().Single();
        Assert.Equal((4, 0, 12, 0), (usage.Reserved, usage.Burst, usage.Batch, usage.Idle));
    }

    [Fact]
    public void Settle_RiseWithEnginesAsleep_WakesThemOnTheirOwnGpusPreemptingBatch()
    {
        var scheduler = Fleet(2);
        var (spec, slept) = SleepTwoOfFour(scheduler);
        scheduler.SetDeployment(new ScheduledDeployment(spec, 4, 1, Awake: 2));
        scheduler.Settle();

        scheduler.SetDeployment(new ScheduledDeployment(spec, 4, 1, Awake: 4));
        var claims = scheduler.Settle().OfType<ClaimDecision>().Where(c => c.Replica.DeploymentId == "ded").OrderBy(c => c.Replica.Ordinal).ToArray();

        Assert.Equal([2, 3], claims.Select(c => c.Replica.Ordinal));
        Assert.All(claims, c => Assert.True(c.Wakes));
        Assert.All(claims, c => Assert.Contains(slept.Values, w => w.NodeId == c.Claim.NodeId && w.Gpus.SequenceEqual(c.Claim.GpuIndices)));
        Assert.All(claims, c => Assert.All(c.Preempted, v => Assert.Equal(ReplicaTier.Batch, v.Tier)));
        Assert.Empty(scheduler.Snapshot.SleepingOf("ded"));
    }

    /// <summary>Two 8-GPU nodes whose agents keep up to 300 bytes of sleeping engines, with the dedicated model's 100-byte weights cached.</summary>
    private static CapacityScheduler SleepingFleet()
    {
        var scheduler = new CapacityScheduler(new Random(1));
        for (var i = 0; i < 2; i++)
        {
            var node = TestFleet.Node($"n{i}", 8) with { SleepBudgetBytes = 300, WarmModels = [new WarmModel(Dedicated(2, 6).Model, 100)] };
            scheduler.SetNode(node, NodeHealth.Ready, NodeScheduling.Schedulable, [], 1);
        }

        return scheduler;
    }

    [Fact]
    public void Settle_ReadyHeadroomAboveAwakeOnNodesThatSleepEngines_SleepsAtOnceAndStaysAsleep()
    {
        var scheduler = SleepingFleet();
        var spec = Dedicated(reserved: 2, max: 6);
        scheduler.SetDeployment(new ScheduledDeployment(Batch(16), 16, 1));
        scheduler.SetDeployment(new ScheduledDeployment(spec, 4, 1, Awake: 2));

        // Loading replicas run until they are ready: none is released before.
        scheduler.Settle();
        Assert.Equal([0, 1, 2, 3], scheduler.ReplicasOf("ded").Select(r => r.Replica.Ordinal));
        Ready(scheduler);
        var where = scheduler.ReplicasOf("ded").ToDictionary(r => r.Replica.Ordinal, r => (r.NodeId, r.Replica.GpuIndices));

        // Ready, the two above what must run are released to sleep where they ran, though the desired count never fell.
        var released = scheduler.Settle().OfType<ReleaseDecision>().Where(r => r.ReplicaId.StartsWith("ded.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, released.Length);
        Assert.All(released, r => Assert.Equal(ReleaseReason.ScaledDown, r.Reason));
        Assert.Equal([0, 1], scheduler.ReplicasOf("ded").Select(r => r.Replica.Ordinal));
        var asleep = scheduler.Snapshot.SleepingOf("ded").Select(s => (s.NodeId, s.Engine.GpuIndices)).ToArray();
        Assert.Equal(2, asleep.Length);
        Assert.Contains(asleep, a => a.NodeId == where[2].NodeId && a.GpuIndices.SequenceEqual(where[2].GpuIndices));
        Assert.Contains(asleep, a => a.NodeId == where[3].NodeId && a.GpuIndices.SequenceEqual(where[3].GpuIndices));

        // The headroom is held asleep: no pass places it again, and batch works on its GPUs.
        Assert.DoesNotContain(scheduler.Settle(), d => d is ClaimDecision c && c.Replica.DeploymentId == "ded");
        var usage = scheduler.Usage().Single();
        Assert.Equal((4, 0, 12, 0), (usage.Reserved, usage.Burst, usage.Batch, usage.Idle));

        // A rise wakes them.
        scheduler.SetDeployment(new ScheduledDeployment(spec, 4, 1, Awake: 4));
        var claims = scheduler.Settle().OfType<ClaimDecision>().Where(c => c.Replica.DeploymentId == "ded").ToArray();
        Assert.Equal(2, claims.Length);
        Assert.All(claims, c => Assert.True(c.Wakes));
    }

    [Fact]
    public void Settle_ReservationAboveDesiredOnNodesThatSleepEngines_LoadsTheWholeReservationAndSleepsAllButTheAwake()
    {
        var scheduler = SleepingFleet();
        var spec = Dedicated(reserved: 4, max: 6);
        scheduler.SetDeployment(new ScheduledDeployment(Batch(16), 16, 1));
        scheduler.SetDeployment(new ScheduledDeployment(spec, 1, 1, Awake: 1));

        // The reservation's engines are loaded though one replica is desired, so a rise within it is a wake, not a load.
        scheduler.Settle();
        Assert.Equal([0, 1, 2, 3], scheduler.ReplicasOf("ded").Select(r => r.Replica.Ordinal));
        Ready(scheduler);
        scheduler.Settle();
        Assert.Equal([0], scheduler.ReplicasOf("ded").Select(r => r.Replica.Ordinal));
        Assert.Equal(3, scheduler.Snapshot.SleepingOf("ded").Count());

        // A rise to the reservation wakes the three; none loads.
        scheduler.SetDeployment(new ScheduledDeployment(spec, 4, 1, Awake: 4));
        var claims = scheduler.Settle().OfType<ClaimDecision>().Where(c => c.Replica.DeploymentId == "ded").ToArray();
        Assert.Equal(3, claims.Length);
        Assert.All(claims, c => Assert.True(c.Wakes));
    }

    [Fact]
    public void Settle_ReservationAboveDesiredWhereNoNodeSleepsEngines_RunsOnlyTheDesired()
    {
        var scheduler = Fleet(2);
        scheduler.SetDeployment(new ScheduledDeployment(Dedicated(reserved: 4, max: 6), 1, 1, Awake: 1));

        scheduler.Settle();

        Assert.Equal([0], scheduler.ReplicasOf("ded").Select(r => r.Replica.Ordinal));
    }

    [Fact]
    public void Settle_ReadyBatchPreempted_SleepsWhereItRanAndWakesThereOnceTheGpusAreFree()
    {
        var scheduler = new CapacityScheduler(new Random(1));
        var node = TestFleet.Node("n0", 8) with { SleepBudgetBytes = 1_000, WarmModels = [new WarmModel("model", 100)] };
        scheduler.SetNode(node, NodeHealth.Ready, NodeScheduling.Schedulable, [], 1);
        scheduler.SetDeployment(new ScheduledDeployment(Batch(8), 8, 1));
        scheduler.Settle();
        Ready(scheduler);

        // A dedicated rise preempts two ready batch replicas: their engines sleep on the GPUs they ran on.
        var spec = Dedicated(reserved: 0, max: 1);
        scheduler.SetDeployment(new ScheduledDeployment(spec, 1, 1));
        var claim = scheduler.Settle().OfType<ClaimDecision>().Single(c => c.Replica.DeploymentId == "ded");
        Assert.Equal(2, claim.Preempted.Length);
        var asleep = scheduler.Snapshot.SleepingOf("batch").Select(s => s.Engine).ToArray();
        Assert.Equal(2, asleep.Length);
        Assert.All(asleep, e => Assert.True(e.Batch));
        Assert.Equal(claim.Claim.GpuIndices.Order(), asleep.SelectMany(e => e.GpuIndices).Order());

        // The dedicated replica goes: batch takes its GPUs back by waking its engines there, not by loading again.
        scheduler.SetDeployment(new ScheduledDeployment(spec with { MinReplicas = 0 }, 0, 1));
        var back = scheduler.Settle().OfType<ClaimDecision>().Where(c => c.Replica.DeploymentId == "batch").ToArray();
        Assert.Equal(2, back.Length);
        Assert.All(back, c => Assert.True(c.Wakes));
        Assert.Empty(scheduler.Snapshot.SleepingOf("batch"));
    }

    [Fact]
    public void Settle_BatchLodgingOnASleepingDedicatedEngine_IsPreemptedByItsWakeAndSleepsInItsTurn()
    {
        // Batch sleeps never keep a dedicated engine from waking, and the GPUs they sleep on are no obstacle to placement.
        var scheduler = new CapacityScheduler(new Random(1));
        var node = TestFleet.Node("n0", 8) with { SleepBudgetBytes = 1_000, WarmModels = [new WarmModel("model", 100)] };
        scheduler.SetNode(node, NodeHealth.Ready, NodeScheduling.Schedulable, [], 1);
        var spec = Dedicated(reserved: 0, max: 2);
        scheduler.SetDeployment(new ScheduledDeployment(spec, 2, 1));
        scheduler.SetDeployment(new ScheduledDeployment(Batch(8), 8, 1));
        scheduler.Settle();
        Ready(scheduler);
        scheduler.SetDeployment(new ScheduledDeployment(spec, 2, 1, Awake: 1));
        scheduler.Settle();
        Ready(scheduler);
        Assert.Single(scheduler.Snapshot.SleepingOf("ded"));

        scheduler.SetDeployment(new ScheduledDeployment(spec, 2, 1, Awake: 2));
        var wake = scheduler.Settle().OfType<ClaimDecision>().Single(c => c.Replica.DeploymentId == "ded");
        Assert.True(wake.Wakes);
        Assert.Equal(2, scheduler.Snapshot.SleepingOf("batch").Count());
    }

    [Fact]
    public void SetNode_ReportsWithoutAnEngineReleasedToSleep_KeepItAsleepForAFewReportsThenTakeItAsStopped()
    {
        var scheduler = SleepingFleet();
        var spec = Dedicated(reserved: 2, max: 6);
        scheduler.SetDeployment(new ScheduledDeployment(spec, 3, 1, Awake: 2));
        scheduler.Settle();
        Ready(scheduler);
        var released = scheduler.Settle().OfType<ReleaseDecision>().Single();
        var nodeId = released.NodeId;

        // Reports its agent sent before it heard of the release leave the engine out: it is still taken as asleep.
        for (var version = 2; version < 2 + CapacityScheduler.ReportsBeforeAsleep - 1; version++)
        {
            var report = scheduler.Snapshot.Find(nodeId)! with { Sleeping = [] };
            scheduler.SetNode(report, NodeHealth.Ready, NodeScheduling.Schedulable, scheduler.ReplicasOn(nodeId), version);
            Assert.Single(scheduler.Snapshot.SleepingOf("ded"));
            Assert.DoesNotContain(scheduler.Settle(), d => d is ClaimDecision);
        }

        // One more report without it: it did not sleep (the agent stopped it), and the headroom is placed again.
        var last = scheduler.Snapshot.Find(nodeId)! with { Sleeping = [] };
        scheduler.SetNode(last, NodeHealth.Ready, NodeScheduling.Schedulable, scheduler.ReplicasOn(nodeId), 10);
        Assert.Empty(scheduler.Snapshot.SleepingOf("ded"));
        Assert.Contains(scheduler.Settle(), d => d is ClaimDecision { Wakes: false } c && c.Replica.DeploymentId == "ded");
    }

    [Fact]
    public void SetNode_ReportHoldingTheEngineReleasedToSleep_ConfirmsItAndALaterReportWithoutItIsBelieved()
    {
        var scheduler = SleepingFleet();
        var spec = Dedicated(reserved: 2, max: 6);
        scheduler.SetDeployment(new ScheduledDeployment(spec, 3, 1, Awake: 2));
        scheduler.Settle();
        Ready(scheduler);
        var nodeId = scheduler.Settle().OfType<ReleaseDecision>().Single().NodeId;
        var engine = scheduler.Snapshot.SleepingOf("ded").Single().Engine;

        var confirmed = scheduler.Snapshot.Find(nodeId)! with { Sleeping = [engine] };
        scheduler.SetNode(confirmed, NodeHealth.Ready, NodeScheduling.Schedulable, scheduler.ReplicasOn(nodeId), 2);

        // The agent later stopped it to make room for another engine: the next report is believed at once.
        var evicted = scheduler.Snapshot.Find(nodeId)! with { Sleeping = [] };
        scheduler.SetNode(evicted, NodeHealth.Ready, NodeScheduling.Schedulable, scheduler.ReplicasOn(nodeId), 3);
        Assert.Empty(scheduler.Snapshot.SleepingOf("ded"));
    }

    [Fact]
    public void Settle_HeadroomOnNodesWhoseBudgetCannotHoldTheWeights_KeepsRunning()
    {
        var scheduler = new CapacityScheduler(new Random(1));
        for (var i = 0; i < 2; i++)
        {
            var node = TestFleet.Node($"n{i}", 8) with { SleepBudgetBytes = 99, WarmModels = [new WarmModel(Dedicated(2, 6).Model, 100)] };
            scheduler.SetNode(node, NodeHealth.Ready, NodeScheduling.Schedulable, [], 1);
        }

        scheduler.SetDeployment(new ScheduledDeployment(Dedicated(reserved: 2, max: 6), 4, 1, Awake: 2));
        scheduler.Settle();
        Ready(scheduler);

        Assert.DoesNotContain(scheduler.Settle(), d => d is ReleaseDecision);
        Assert.Equal([0, 1, 2, 3], scheduler.ReplicasOf("ded").Select(r => r.Replica.Ordinal));
    }

    [Fact]
    public void Settle_AwakeBelowDesiredWithNoEngineAsleep_RunsEveryDesiredReplica()
    {
        var scheduler = Fleet(2);
        scheduler.SetDeployment(new ScheduledDeployment(Batch(16), 16, 1));
        scheduler.SetDeployment(new ScheduledDeployment(Dedicated(reserved: 2, max: 6), 4, 1, Awake: 1));

        scheduler.Settle();

        Assert.Equal([0, 1, 2, 3], scheduler.ReplicasOf("ded").Select(r => r.Replica.Ordinal));
    }

    [Fact]
    public void Settle_EngineAsleepUnderAnotherDedicatedReplica_IsNotCountedNorWokenAndTheReplicaLoadsElsewhere()
    {
        var scheduler = Fleet(2);
        var (spec, slept) = SleepTwoOfFour(scheduler);

        // Another dedicated deployment's reserved replicas take every GPU the engines slept on.
        var other = TestFleet.Spec("other", gpus: 2, reserved: 2, max: 2);
        scheduler.SetDeployment(new ScheduledDeployment(other, 2, 1));
        var ordinal = 0;
        foreach (var (nodeId, gpus) in slept.Values)
        {
            var node = scheduler.Snapshot.Find(nodeId)!;
            var batchOnThem = gpus.Select(g => node.Slots.Holders[g]).OfType<GpuHolder>().Select(h => h.ReplicaId).Distinct().ToArray();
            node = node with { Slots = batchOnThem.Aggregate(node.Slots, (s, id) => s.Release(id)) };
            var outcome = node.Slots.TryClaim($"other.{gpus[0]}.{nodeId}", "other", ReplicaTier.Reserved, gpus, []);
            Assert.Equal(ClaimStatus.Claimed, outcome.Status);
            var replicas = scheduler.ReplicasOn(nodeId).Where(r => !batchOnThem.Contains(r.ReplicaId))
                .Append(new PlacedReplica($"other.{gpus[0]}.{nodeId}", "other", other.Model, ordinal++, 1, ReplicaTier.Reserved, gpus, ReplicaState.Ready));
            scheduler.SetNode(node with { Slots = outcome.Slots }, NodeHealth.Ready, NodeScheduling.Schedulable, replicas, 3);
        }

        scheduler.SetDeployment(new ScheduledDeployment(spec, 4, 1, Awake: 2));
        var claims = scheduler.Settle().OfType<ClaimDecision>().Where(c => c.Replica.DeploymentId == "ded").ToArray();

        Assert.Equal(2, claims.Length);
        Assert.All(claims, c => Assert.False(c.Wakes));
    }
}
