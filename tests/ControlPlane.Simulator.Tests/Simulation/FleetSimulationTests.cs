using System.Text.Json;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Simulator.Simulation;

namespace ControlPlane.Simulator.Tests.Simulation;

public sealed class FleetSimulationTests
{
    private static readonly TimeSpan LoadTime = TimeSpan.FromSeconds(300);

    /// <summary>The shipped small fleet with nodes failing about once a day each, so that a run sees some go down and come back.</summary>
    private static FleetFile FailingSmallFleet => SimulationInputs.SmallFleet with { Failures = new FailureModel(1, TimeSpan.FromHours(1)) };

    private static SimulationReport Simulate(FleetFile fleet, double hours, int seed = 1, Action<SimulationStep>? observe = null, Trace? trace = null) =>
        SimulateCommand.Simulate(fleet, "fleet.json", [trace ?? SimulationInputs.AzureTrace], SimulationInputs.All, new SimulationSettings(hours, 60, seed), observe: observe);

    [Fact]
    public void Simulate_SameSeed_SameReport()
    {
        var first = Simulate(FailingSmallFleet, hours: 12, seed: 42);
        var second = Simulate(FailingSmallFleet, hours: 12, seed: 42);

        Assert.NotEqual(0, first.Policies["liquid"].NodeFailures);
        Assert.Equal(first.WithoutWallClock().ToJson(), second.WithoutWallClock().ToJson());
    }

    [Fact]
    public void Outages_OtherSeed_OtherFailures()
    {
        var settings = new SimulationSettings(24, 60, 1);
        var one = new FleetSimulation(FailingSmallFleet, [SimulationInputs.AzureTrace], settings);
        var other = new FleetSimulation(FailingSmallFleet, [SimulationInputs.AzureTrace], settings with { Seed = 2 });

        Assert.NotEqual(one.Outages, other.Outages);
        Assert.Equal(one.Outages, new FleetSimulation(FailingSmallFleet, [SimulationInputs.AzureTrace], settings).Outages);
    }

    [Fact]
    public void Simulate_ShippedSmallFleet_LiquidKeepsMoreOfTheFleetBusyAndServesNoLessDedicatedDemand()
    {
        var report = Simulate(SimulationInputs.SmallFleet, hours: 24);

        var liquid = report.Policies["liquid"];
        var fixedSilos = report.Policies["static"];
        Assert.True(liquid.Utilization > fixedSilos.Utilization, $"liquid {liquid.Utilization} <= static {fixedSilos.Utilization}");
        Assert.True(liquid.DedicatedServedShare >= fixedSilos.DedicatedServedShare, $"liquid served {liquid.DedicatedServedShare} < static {fixedSilos.DedicatedServedShare}");
        Assert.True(liquid.ServedTokens.Dedicated >= fixedSilos.ServedTokens.Dedicated);
        Assert.Equal(liquid.GpuCostUsd, fixedSilos.GpuCostUsd);
    }

    [Fact]
    public void Simulate_DedicatedSpike_PreemptsBatchInLiquidAndNeverInStatic()
    {
        // Two 8-GPU nodes; a dedicated deployment of 4-GPU replicas (2 reserved, up to 4) and batch filling the rest.
        // Its demand is 1,000 tokens/s for half an hour (one replica), then 20,000 tokens/s (four).
        var fleet = new FleetFile(
            "spike",
            ["r"],
            [new FleetNodeGroup("n", "r", "h100-sxm-80gb", 8, 80 * 1024, 2, Ownership.Owned, 16m)],
            [new FleetModel("m", 70, 140, LoadTime)],
            FailureModel.None,
            Autoscaler.DefaultScaleDownDelay,
            [
                new SimulatedDeployment(new DeploymentSpec("ded", "m", DeploymentClass.Dedicated, "acme", 4, 80, null, null, 1, 2, 4, 6_000), new TrafficMapping(null, 1, 1, 0, 60), 0.6m, LoadTime),
                new SimulatedDeployment(new DeploymentSpec("batch", "m", DeploymentClass.Batch, null, 1, 0, null, null, 0, 0, 16, 8_000), null, 0.1m, LoadTime),
            ]);
        var spike = Trace.FromRequests("spike", Enumerable.Range(0, 3_600).Select(s => ((double)s, s < 1_800 ? 1_000L : 20_000L)));

        var report = Simulate(fleet, hours: 1, trace: spike);

        // Liquid: before the spike one replica serves the steady 1,000 tokens/s (no rise learned yet) and the second
        // reserved one was loaded and sleeps, its GPUs lent to batch. At the spike it wakes in seconds, and both burst
        // replicas preempt four batch replicas each, and nothing else. Until they have loaded, the spike's 8,000 tokens/s
        // above the two ready replicas would take batch replicas of the model, but the new replicas took every batch
        // GPU: 5 steps of the load unserved, out of 37.8 M tokens due; within the reservation nothing is missed.
        var liquid = report.Policies["liquid"];
        Assert.Equal(8, liquid.Preemptions);
        Assert.Equal(new PreemptionReport(Batch: 8, Serverless: 0, Burst: 0, ByDedicated: 8), liquid.PreemptedReplicas);
        Assert.Equal(Math.Round(1 - 5 * 60 * 8_000.0 / 37_800_000, 6), liquid.DedicatedServedShare);
        Assert.Equal(1.0, liquid.ReservedServedShare);
        Assert.Equal((1.0, "ded"), (liquid.WorstReservedServedShare, liquid.WorstReservedDeployment));
        Assert.Equal(new WaitReport(1, 300, 300, 300), liquid.TimeToCapacity);

        // Static: the reservation's node is a silo of its own; 8,000 tokens/s above it go unserved for the whole
        // second half hour: 30 steps of 60 s. Within the reservation nothing is missed.
        var fixedSilos = report.Policies["static"];
        Assert.Equal(0, fixedSilos.Preemptions);
        Assert.Equal(new PreemptionReport(0, 0, 0, 0), fixedSilos.PreemptedReplicas);
        Assert.Equal(Math.Round(1 - 30 * 60 * 8_000.0 / 37_800_000, 6), fixedSilos.DedicatedServedShare);
        Assert.Equal(1.0, fixedSilos.ReservedServedShare);

        // The forgiving figure excuses the load-time waits, and says so in its name.
        Assert.Equal(1.0, liquid.DedicatedSloAttainmentForgivingLoadTime);
    }

    /// <summary>
    /// Two 8-GPU nodes; a dedicated deployment of 4-GPU replicas of a 70B model (140 GB of weights) at 6,000 tokens/s
    /// each, and batch of the same model on the rest. Demand: 20,000 tokens/s for 20 minutes, 1,000 for 20, then 20,000
    /// again: 49.2 M tokens due.
    /// </summary>
    private static FleetFile RiseFallRise(double sleepGB) => new(
        "rise-fall-rise",
        ["r"],
        [new FleetNodeGroup("n", "r", "h100-sxm-80gb", 8, 80 * 1024, 2, Ownership.Owned, 16m) { Storage = new NodeStorage(1.0, 4.0, 3_000) { SleepGB = sleepGB } }],
        [new FleetModel("m", 70, 140, null)],
        FailureModel.None,
        Autoscaler.DefaultScaleDownDelay,
        [
            new SimulatedDeployment(new DeploymentSpec("ded", "m", DeploymentClass.Dedicated, "acme", 4, 80, null, null, 1, 2, 4, 6_000), new TrafficMapping(null, 1, 1, 0, 60), 0.6m, LoadTime, new FleetModel("m", 70, 140, null)),
            new SimulatedDeployment(new DeploymentSpec("batch", "m", DeploymentClass.Batch, null, 1, 0, null, null, 0, 0, 16, 8_000), null, 0.1m, LoadTime, new FleetModel("m", 70, 140, null)),
        ]);

    private static readonly Trace RiseFallRiseTrace =
        Trace.FromRequests("rise-fall-rise", Enumerable.Range(0, 3_600).Select(s => ((double)s, s is >= 1_200 and < 2_400 ? 1_000L : 20_000L)));

    [Fact]
    public void Simulate_ScaledDownReplicasAsleep_TheNextRiseWakesThemWithinTheStep()
    {
        var report = Simulate(RiseFallRise(sleepGB: 1_000), hours: 1, trace: RiseFallRiseTrace);

        // The fall released three replicas, which slept (batch took their GPUs); the rise woke all three on their own GPUs,
        // preempting batch, with no load. The wake reached the node 10 s into the step (the reaction) and copied 140 GB back
        // over 4 GPUs at 20 GB/s each (1.75 s) after 5 s of engine wake: until then one replica served 6,000 of the 20,000
        // tokens/s, and nothing else was missed.
        var liquid = report.Policies["liquid"];
        var ded = liquid.Deployments.Single(d => d.DeploymentId == "ded");
        Assert.Equal(3, liquid.Loads.Wakes);
        Assert.Equal((0, 0), (ded.WarmLoads, ded.ColdLoads));
        Assert.Equal(Math.Round(1 - (14_000 * 16.75 / 49_200_000), 6), liquid.DedicatedServedShare);
        Assert.Equal(new WaitReport(1, 60, 60, 60), liquid.TimeToCapacity);
    }

    [Fact]
    public void Simulate_NoHostMemoryForSleepingEngines_TheRiseWaitsWarmLoads()
    {
        var report = Simulate(RiseFallRise(sleepGB: 0), hours: 1, trace: RiseFallRiseTrace);

        // The replicas were stopped; the rise loads them from the nodes' caches (45 s + 140 GB at 4 GB/s = 80 s), ready at
        // the second step boundary: two steps of 14,000 tokens/s missed.
        var liquid = report.Policies["liquid"];
        var ded = liquid.Deployments.Single(d => d.DeploymentId == "ded");
        Assert.Equal(0, liquid.Loads.Wakes);
        Assert.Equal((3, 0), (ded.WarmLoads, ded.ColdLoads));
        Assert.Equal(Math.Round(1 - (14_000 * 120.0 / 49_200_000), 6), liquid.DedicatedServedShare);
    }

    /// <summary>
    /// Three 8-GPU nodes; a dedicated deployment of 4-GPU replicas of a 70B model at 6,000 tokens/s (up to 4) whose demand
    /// rises from 1,000 to 24,000 tokens/s half-way through the hour, a serverless deployment of the same model at a steady
    /// 4,000 tokens/s; no batch of the model, whose replicas serverless could also ride on.
    /// </summary>
    private static FleetFile SpareTakenBack => new(
        "spare-taken-back",
        ["r"],
        [new FleetNodeGroup("n", "r", "h100-sxm-80gb", 8, 80 * 1024, 3, Ownership.Owned, 16m)],
        [new FleetModel("m", 70, 140, null)],
        FailureModel.None,
        Autoscaler.DefaultScaleDownDelay,
        [
            new SimulatedDeployment(new DeploymentSpec("ded", "m", DeploymentClass.Dedicated, "acme", 4, 80, null, null, 1, 1, 4, 6_000), new TrafficMapping("rise", 1, 1, 0, 60), 0.6m, LoadTime, new FleetModel("m", 70, 140, null)),
            new SimulatedDeployment(new DeploymentSpec("sl", "m", DeploymentClass.Serverless, null, 4, 0, null, null, 0, 0, 4, 6_000), new TrafficMapping("steady", 1, 1, 0, 60), 0.9m, LoadTime, new FleetModel("m", 70, 140, null)),
        ]);

    [Fact]
    public void Simulate_Oracle_ServerlessDoesNotCountOnDedicatedSpareThatAForeseenRiseTakesBack()
    {
        Trace[] traces =
        [
            Trace.FromRequests("rise", Enumerable.Range(0, 3_600).Select(s => ((double)s, s < 1_800 ? 1_000L : 24_000L))),
            Trace.FromRequests("steady", Enumerable.Range(0, 3_600).Select(s => ((double)s, 4_000L))),
        ];

        var report = SimulateCommand.Simulate(SpareTakenBack, "fleet.json", traces, [new OraclePolicy()], new SimulationSettings(1, 60, 1));

        // Before the rise the dedicated replica's spare (5,000 tokens/s) could carry the serverless demand, but the oracle
        // knows the rise takes it all back, so serverless has a replica of its own ready when it comes: nothing spills.
        var oracle = report.Policies["oracle"];
        Assert.Equal(0, oracle.SpilledSharedTokens);
        Assert.Equal(1.0, oracle.DedicatedServedShare);
    }

    [Fact]
    public void WakeTime_IsEngineWakePlusEachGpusShareOfTheWeightsOverPcie()
    {
        var group = new FleetNodeGroup("n", "r", "h100-sxm-80gb", 8, 80 * 1024, 1, Ownership.Owned, 16m);
        var model = new FleetModel("m", 70, 140, null);

        Assert.Equal(TimeSpan.FromSeconds(5 + 1.75), FleetLoading.Default.WakeTime(model, group, gpus: 4));
        Assert.Equal(TimeSpan.FromSeconds(5 + 7), FleetLoading.Default.WakeTime(model, group, gpus: 1));
        Assert.Equal(TimeSpan.FromSeconds(2 + 3.5), (FleetLoading.Default with { EngineWakeSeconds = 2 }).WakeTime(model, group with { Storage = new NodeStorage(1, 4, 0) { HostToGpuGBps = 10 } }, gpus: 4));
    }

    [Fact]
    public void Simulate_EveryStepOfEveryPolicy_NoGpuHeldByTwoReplicasAndTheSnapshotAgrees()
    {
        var steps = 0;
        var downSeen = false;

        Simulate(FailingSmallFleet, hours: 12, observe: step =>
        {
            steps++;
            var holders = new Dictionary<(string Node, int Gpu), string>();
            foreach (var partition in step.Partitions)
            {
                var scheduler = partition.Scheduler;
                foreach (var replica in scheduler.Replicas())
                {
                    Assert.Equal(NodeHealth.Ready, replica.NodeHealth);
                    var slots = scheduler.Snapshot.Find(replica.NodeId)!.Slots;
                    foreach (var gpu in replica.Replica.GpuIndices)
                    {
                        Assert.True(holders.TryAdd((replica.NodeId, gpu), replica.Replica.ReplicaId), $"step {step.Index}: GPU {gpu} of {replica.NodeId} is held twice");
                        Assert.Equal(replica.Replica.ReplicaId, slots.Holders[gpu]?.ReplicaId);
                    }
                }

                // Nothing in the snapshot holds a GPU that the scheduler's replicas do not account for.
                var held = scheduler.Snapshot.Nodes.Sum(n => n.Slots.Holders.Count(h => h is not null));
                Assert.Equal(held, scheduler.Replicas().Sum(r => r.Replica.GpuIndices.Length));
                downSeen |= scheduler.Snapshot.Nodes.Any(n => !n.Schedulable);
            }
        });

        Assert.Equal(3 * 12 * 60, steps);
        Assert.True(downSeen, "no node went down: the invariant was not checked across a failure");
    }

    [Fact]
    public void ToJson_BothPolicies_HasTheRequiredFiguresAndRatiosWithin0And1()
    {
        var json = Simulate(SimulationInputs.SmallFleet, hours: 6).ToJson();

        using var document = JsonDocument.Parse(json);
        var policies = document.RootElement.GetProperty("policies");
        Assert.Equal(["liquid", "static", "oracle"], policies.EnumerateObject().Select(p => p.Name));
        foreach (var policy in policies.EnumerateObject())
        {
            var p = policy.Value;
            Assert.InRange(p.GetProperty("utilization").GetDouble(), 0, 1);
            Assert.InRange(p.GetProperty("dedicatedServedShare").GetDouble(), 0, 1);
            Assert.InRange(p.GetProperty("reservedServedShare").GetDouble(), 0, 1);
            Assert.InRange(p.GetProperty("serverlessSpilledShare").GetDouble(), 0, 1);
            Assert.InRange(p.GetProperty("dedicatedSloAttainmentForgivingLoadTime").GetDouble(), 0, 1);
            Assert.True(p.GetProperty("timeToCapacity").GetProperty("p99Seconds").GetDouble() >= p.GetProperty("timeToCapacity").GetProperty("p50Seconds").GetDouble());
            Assert.Equal(
                p.GetProperty("revenueUsd").GetDecimal() - p.GetProperty("gpuCostUsd").GetDecimal() - p.GetProperty("partnerCostUsd").GetDecimal(),
                p.GetProperty("marginUsd").GetDecimal());
            Assert.True(p.GetProperty("preemptions").GetInt64() >= 0);
            Assert.True(p.GetProperty("spilledSharedTokens").GetInt64() >= 0);

            // 3 owned H100 nodes at $13.60, 2 rented L40S at $8.00 and a rented H100 at $21.60, for 6 hours.
            Assert.Equal(470.40m, p.GetProperty("gpuCostUsd").GetDecimal());
            Assert.True(p.GetProperty("revenueUsd").GetDecimal() > 0);
            Assert.Equal(6, p.GetProperty("hourly").GetArrayLength());
            Assert.Equal(4, p.GetProperty("deployments").GetArrayLength());
        }

        Assert.Equal(6, document.RootElement.GetProperty("simulatedHours").GetDouble());
        Assert.Equal(19_366, document.RootElement.GetProperty("traces")[0].GetProperty("rows").GetInt32());
        Assert.True(document.RootElement.TryGetProperty("liquidToOracle", out _));
    }
}
