using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;
using static ControlPlane.Domain.Tests.Placement.TestFleet;

namespace ControlPlane.Domain.Tests.Placement;

public sealed class PlacementPlannerTests
{
    [Fact]
    public void Plan_FreeGpusSomewhere_AreTakenBeforeAnyPreemption()
    {
        // The free GPU is on the dearer, rented node; the cheap node is full of batch work.
        var snapshot = Snapshot(
            Node("cheap", hourlyCostUsd: 8m).Fill("b", ReplicaTier.Batch),
            Node("dear", hourlyCostUsd: 40m, ownership: Ownership.Rented).Fill("b", ReplicaTier.Batch).Free("b7"));

        var claim = PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Reserved);

        Assert.Equal(new GpuClaim("dear", [7], []), claim);
    }

    [Fact]
    public void Plan_FreeNodes_CheapestPerGpuWins()
    {
        // "small" costs less per node but more per GPU (3 USD against 2).
        var snapshot = Snapshot(Node("small", gpus: 2, hourlyCostUsd: 6m), Node("big", gpus: 8, hourlyCostUsd: 16m));

        Assert.Equal("big", PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Serverless)?.NodeId);
    }

    [Fact]
    public void Plan_EqualCost_OwnedBeforeRented()
    {
        var snapshot = Snapshot(Node("a-rented", ownership: Ownership.Rented), Node("b-owned", ownership: Ownership.Owned));

        Assert.Equal("b-owned", PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Serverless)?.NodeId);
    }

    [Fact]
    public void Plan_EqualPrice_PacksIntoTheTightestNodeAndKeepsWholeNodesFree()
    {
        var snapshot = Snapshot(
            Node("a-empty"),
            Node("b-three-free").Hold("x", ReplicaTier.Batch, 0, 1, 2, 3, 4),
            Node("c-two-free").Hold("y", ReplicaTier.Batch, 0, 1, 2, 3, 4, 5));

        var small = PlacementPlanner.Plan(snapshot, Spec(gpus: 2), ReplicaTier.Serverless);
        var three = PlacementPlanner.Plan(snapshot, Spec(gpus: 3), ReplicaTier.Serverless);
        var whole = PlacementPlanner.Plan(snapshot, Spec(gpus: 8), ReplicaTier.Serverless);

        Assert.Equal(new GpuClaim("c-two-free", [6, 7], []), small);
        Assert.Equal(new GpuClaim("b-three-free", [5, 6, 7], []), three);
        Assert.Equal(new GpuClaim("a-empty", [0, 1, 2, 3, 4, 5, 6, 7], []), whole);
    }

    [Fact]
    public void Plan_FillingOneByOne_LeavesTheSecondNodeWhole()
    {
        var snapshot = Snapshot(Node("a"), Node("b"));
        for (var i = 0; i < 8; i++)
        {
            var claim = PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Serverless)!;
            Assert.Equal(ClaimStatus.Claimed, snapshot.Apply(new GpuHolder($"r{i}", "d", ReplicaTier.Serverless), claim).Status);
        }

        Assert.Equal(8, snapshot.Find("b")!.Slots.FreeCount);
    }

    [Fact]
    public void Plan_OnlyPreemptionLeft_BatchGoesBeforeServerless()
    {
        var snapshot = Snapshot(
            Node("a-cheap-serverless", hourlyCostUsd: 8m).Fill("s", ReplicaTier.Serverless),
            Node("b-dear-batch", hourlyCostUsd: 40m).Fill("b", ReplicaTier.Batch));

        var claim = PlacementPlanner.Plan(snapshot, Spec(gpus: 2), ReplicaTier.Burst);

        Assert.Equal(new GpuClaim("b-dear-batch", [0, 1], ["b0", "b1"]), claim);
    }

    [Fact]
    public void Plan_BatchVictims_PreferredEvenWhenMoreOfThemAreNeeded()
    {
        // Four GPUs: one serverless replica on "a", or two batch replicas on "b".
        var snapshot = Snapshot(
            Node("a").Hold("s", ReplicaTier.Serverless, 0, 1, 2, 3).Fill("r", ReplicaTier.Reserved),
            Node("b").Hold("b1", ReplicaTier.Batch, 0, 1).Hold("b2", ReplicaTier.Batch, 2, 3).Fill("r", ReplicaTier.Reserved));

        var claim = PlacementPlanner.Plan(snapshot, Spec(gpus: 4), ReplicaTier.Reserved);

        Assert.Equal(new GpuClaim("b", [0, 1, 2, 3], ["b1", "b2"]), claim);
    }

    [Fact]
    public void Plan_EqualTiers_FewestVictimsWin()
    {
        var snapshot = Snapshot(
            Node("a").Fill("small", ReplicaTier.Batch),
            Node("b").Hold("whole", ReplicaTier.Batch, 4, 5, 6, 7).Fill("r", ReplicaTier.Reserved));

        var claim = PlacementPlanner.Plan(snapshot, Spec(gpus: 4), ReplicaTier.Burst);

        Assert.Equal(new GpuClaim("b", [4, 5, 6, 7], ["whole"]), claim);
    }

    [Fact]
    public void Plan_EqualVictimCounts_FewestPreemptedGpusWin()
    {
        // One victim either way; "a" would lose eight GPUs of work for a two-GPU replica.
        var snapshot = Snapshot(
            Node("a").Hold("eight", ReplicaTier.Batch, 0, 1, 2, 3, 4, 5, 6, 7),
            Node("b").Hold("two", ReplicaTier.Batch, 3, 4).Fill("r", ReplicaTier.Reserved));

        var claim = PlacementPlanner.Plan(snapshot, Spec(gpus: 2), ReplicaTier.Serverless);

        Assert.Equal(new GpuClaim("b", [3, 4], ["two"]), claim);
    }

    [Fact]
    public void Plan_SameVictims_CheaperNodeWins()
    {
        var snapshot = Snapshot(
            Node("a-rented", ownership: Ownership.Rented).Fill("x", ReplicaTier.Batch),
            Node("b-dear", hourlyCostUsd: 24m).Fill("y", ReplicaTier.Batch),
            Node("c-owned").Fill("z", ReplicaTier.Batch));

        Assert.Equal("c-owned", PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Serverless)?.NodeId);
    }

    [Fact]
    public void Plan_SameVictimsAndPrice_PacksWhereFewestGpusAreLeftOver()
    {
        // Either node frees enough with one three-GPU batch victim; "b" would be left with a stray free GPU.
        var snapshot = Snapshot(
            Node("a").Hold("x", ReplicaTier.Batch, 0, 1, 2).Hold("r", ReplicaTier.Reserved, 3, 4, 5, 6),
            Node("b").Hold("y", ReplicaTier.Batch, 0, 1, 2).Hold("s", ReplicaTier.Reserved, 3, 4, 5));

        Assert.Equal(new GpuClaim("a", [0, 1, 2, 7], ["x"]), PlacementPlanner.Plan(snapshot, Spec(gpus: 4), ReplicaTier.Burst));
    }

    [Fact]
    public void Plan_PartlyFreeNode_UsesFreeGpusAndPreemptsOnlyTheRest()
    {
        var snapshot = Snapshot(Node("n", gpus: 4).Hold("big", ReplicaTier.Batch, 0, 1).Hold("small", ReplicaTier.Batch, 3));

        var claim = PlacementPlanner.Plan(snapshot, Spec(gpus: 2), ReplicaTier.Serverless);

        Assert.Equal(new GpuClaim("n", [2, 3], ["small"]), claim);
    }

    [Fact]
    public void Plan_OnlyEqualOrHigherTiersHold_FindsNothing()
    {
        var snapshot = Snapshot(
            Node("a").Fill("s", ReplicaTier.Serverless),
            Node("b").Fill("u", ReplicaTier.Burst),
            Node("c").Fill("r", ReplicaTier.Reserved));

        Assert.Null(PlacementPlanner.Plan(snapshot, Spec(cls: DeploymentClass.Serverless), ReplicaTier.Serverless));
        Assert.Null(PlacementPlanner.Plan(snapshot, Spec(cls: DeploymentClass.Batch), ReplicaTier.Batch));
        Assert.Equal("a", PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Burst)?.NodeId);
        Assert.Equal("a", PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Reserved)?.NodeId);
    }

    [Fact]
    public void Plan_ReplicaNeedsOneNode_GpusSpreadOverNodesDoNotCount()
    {
        var snapshot = Snapshot(
            Node("a", gpus: 4).Hold("x", ReplicaTier.Reserved, 0, 1),
            Node("b", gpus: 4).Hold("y", ReplicaTier.Reserved, 0, 1));

        Assert.Null(PlacementPlanner.Plan(snapshot, Spec(gpus: 4), ReplicaTier.Reserved));
        Assert.Null(PlacementPlanner.Plan(Snapshot(Node("a", gpus: 4)), Spec(gpus: 8), ReplicaTier.Reserved));
    }

    [Fact]
    public void Plan_SkuAllowList_SkipsOtherSkus()
    {
        var snapshot = Snapshot(Node("cheap-l4", sku: L4, memoryMiB: L4MiB, hourlyCostUsd: 4m), Node("h100"));

        Assert.Equal("h100", PlacementPlanner.Plan(snapshot, Spec(skus: [H100]), ReplicaTier.Serverless)?.NodeId);
        Assert.Equal("cheap-l4", PlacementPlanner.Plan(snapshot, Spec(skus: ["L4-24GB", H100]), ReplicaTier.Serverless)?.NodeId);
        Assert.Null(PlacementPlanner.Plan(snapshot, Spec(skus: ["b200-180gb"]), ReplicaTier.Serverless));
    }

    [Fact]
    public void Plan_RegionAllowList_SkipsOtherRegions()
    {
        var snapshot = Snapshot(Node("eu", region: "eu-west", hourlyCostUsd: 8m), Node("us", region: "us-east"));

        Assert.Equal("us", PlacementPlanner.Plan(snapshot, Spec(regions: ["us-east"]), ReplicaTier.Serverless)?.NodeId);
        Assert.Equal("eu", PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Serverless)?.NodeId);
    }

    [Fact]
    public void Plan_MinGpuMemory_SkipsSmallerGpusAndCountsMarketedSizes()
    {
        var snapshot = Snapshot(Node("a100-40", sku: A100, memoryMiB: A100MiB, hourlyCostUsd: 4m), Node("h100"));

        Assert.Equal("h100", PlacementPlanner.Plan(snapshot, Spec(minMemoryGiB: 80), ReplicaTier.Serverless)?.NodeId);
        Assert.Equal("a100-40", PlacementPlanner.Plan(snapshot, Spec(minMemoryGiB: 40), ReplicaTier.Serverless)?.NodeId);
        Assert.Null(PlacementPlanner.Plan(snapshot, Spec(minMemoryGiB: 81), ReplicaTier.Serverless));
    }

    [Fact]
    public void Plan_UnschedulableNodes_AreSkippedEvenForPreemption()
    {
        // Cordoned, draining, suspect or down: the node's grain reports it as not schedulable.
        var snapshot = Snapshot(
            Node("cordoned", hourlyCostUsd: 4m, schedulable: false),
            Node("busy").Fill("b", ReplicaTier.Batch));

        Assert.Equal(new GpuClaim("busy", [0], ["b0"]), PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Burst));

        snapshot.Upsert(snapshot.Find("busy")! with { Schedulable = false });
        Assert.Null(PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Burst));
    }

    [Theory]
    [InlineData(NodeHealth.Ready, NodeScheduling.Schedulable, true)]
    [InlineData(NodeHealth.Ready, NodeScheduling.Cordoned, false)]
    [InlineData(NodeHealth.Ready, NodeScheduling.Draining, false)]
    [InlineData(NodeHealth.Enrolled, NodeScheduling.Schedulable, false)]
    [InlineData(NodeHealth.Suspect, NodeScheduling.Schedulable, false)]
    [InlineData(NodeHealth.Down, NodeScheduling.Schedulable, false)]
    public void IsSchedulable_OnlyReadyUncordonedNodes(NodeHealth health, NodeScheduling scheduling, bool expected)
    {
        Assert.Equal(expected, PlacementNode.IsSchedulable(health, scheduling));
    }

    [Fact]
    public void Plan_ClaimApplied_PreemptsTheVictimEverywhereOnTheNode()
    {
        var snapshot = Snapshot(Node("n", gpus: 4).Hold("batch", ReplicaTier.Batch, 0, 1, 2, 3));
        var claim = PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Serverless)!;

        var outcome = snapshot.Apply(new GpuHolder("s", "d", ReplicaTier.Serverless), claim);

        Assert.Equal(ClaimStatus.Claimed, outcome.Status);
        Assert.Equal("batch", Assert.Single(outcome.Preempted).ReplicaId);
        Assert.Equal(3, snapshot.Find("n")!.Slots.FreeCount);
        Assert.Null(snapshot.NodeOf("batch"));
        Assert.Equal("n", snapshot.NodeOf("s"));
    }

    [Fact]
    public void Plan_WarmNodeWithRoom_WinsOverCheaperColdNodes()
    {
        var snapshot = Snapshot(Node("cold-cheap", hourlyCostUsd: 8m), Warm(Node("warm-dear", hourlyCostUsd: 40m, ownership: Ownership.Rented)));

        Assert.Equal("warm-dear", PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Serverless)?.NodeId);
    }

    [Fact]
    public void Plan_SeveralWarmNodes_CostThenTightestFitDecide()
    {
        var snapshot = Snapshot(
            Warm(Node("a-warm-dear", hourlyCostUsd: 40m)),
            Warm(Node("b-warm-empty")),
            Warm(Node("c-warm-two-free")).Hold("x", ReplicaTier.Batch, 0, 1, 2, 3, 4, 5),
            Node("d-cold-two-free").Hold("y", ReplicaTier.Batch, 0, 1, 2, 3, 4, 5));

        Assert.Equal(new GpuClaim("c-warm-two-free", [6, 7], []), PlacementPlanner.Plan(snapshot, Spec(gpus: 2), ReplicaTier.Serverless));
        Assert.Equal("b-warm-empty", PlacementPlanner.Plan(snapshot, Spec(gpus: 4), ReplicaTier.Serverless)?.NodeId);
    }

    [Fact]
    public void Plan_WarmNodesWithoutRoomOrForAnotherModel_FallBackToTheColdOrder()
    {
        var snapshot = Snapshot(
            Warm(Node("a-warm-full")).Fill("b", ReplicaTier.Reserved),
            Warm(Node("b-other-model"), "other-model"),
            Warm(Node("c-warm-cordoned", schedulable: false)),
            Node("d-cold-cheap", hourlyCostUsd: 8m));

        Assert.Equal("d-cold-cheap", PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Serverless)?.NodeId);
    }

    [Fact]
    public void Plan_PreemptionWithEqualVictims_WarmNodeBreaksTheTie()
    {
        var snapshot = Snapshot(
            Node("a-cold", hourlyCostUsd: 8m).Fill("b", ReplicaTier.Batch),
            Warm(Node("b-warm")).Fill("c", ReplicaTier.Batch));

        Assert.Equal("b-warm", PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Reserved)?.NodeId);
    }

    [Fact]
    public void Plan_PreemptionOnAWarmNode_StillLosesToFewerOrLowerVictims()
    {
        var snapshot = Snapshot(
            Node("a-cold").Fill("b", ReplicaTier.Batch),
            Warm(Node("b-warm")).Fill("s", ReplicaTier.Serverless));

        Assert.Equal(new GpuClaim("a-cold", [0], ["b0"]), PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Reserved));
    }

    [Fact]
    public void Snapshot_WarmModelsChange_TheIndexFollows()
    {
        var snapshot = Snapshot(Warm(Node("a")), Node("b"));
        Assert.Equal(["a"], snapshot.WarmNodes("model"));

        snapshot.Upsert(Warm(snapshot.Find("b")!, bytes: 7));
        snapshot.Upsert(snapshot.Find("a")! with { WarmModels = [] });

        Assert.Equal(["b"], snapshot.WarmNodes("model"));
        Assert.Equal(7, snapshot.ModelBytes("model"));
        Assert.True(snapshot.Remove("b"));
        Assert.Empty(snapshot.WarmNodes("model"));
        Assert.Null(snapshot.ModelBytes("model"));
    }

    private static PlacementNode Warm(PlacementNode node, string model = "model", long bytes = 1) =>
        node with { WarmModels = [.. node.WarmModels ?? [], new WarmModel(model, bytes)] };

    [Fact]
    public void Plan_DedicatedReplicaWithItsEngineAsleepUnderBatch_WakesItThereRatherThanTakingFreeGpus()
    {
        // "free" has room; on "sleeper" the deployment's engine sleeps on GPUs 2-3, where batch lodges.
        var sleeper = Node("sleeper").Fill("b", ReplicaTier.Batch) with { Sleeping = [new SleepingEngine("d", "model", [2, 3], 100)] };
        var snapshot = Snapshot(Node("free"), sleeper);

        var claim = PlacementPlanner.Plan(snapshot, Spec(gpus: 2), ReplicaTier.Burst);

        Assert.Equal(new GpuClaim("sleeper", [2, 3], ["b2", "b3"]), claim);
    }

    [Theory]
    [InlineData("other", ReplicaTier.Batch, "free")]
    [InlineData("d", ReplicaTier.Burst, "free")]
    [InlineData("d", ReplicaTier.Reserved, "free")]
    public void Plan_EngineOfAnotherDeploymentOrUnderAnEqualOrHigherTier_IsNotWoken(string sleeperDeployment, ReplicaTier lodger, string expected)
    {
        var sleeper = Node("sleeper").HoldFor("x", "lodger", lodger, 2, 3) with { Sleeping = [new SleepingEngine(sleeperDeployment, "model", [2, 3], 100)] };
        var snapshot = Snapshot(Node("free"), sleeper.Fill("b", ReplicaTier.Batch));

        Assert.Equal(expected, PlacementPlanner.Plan(snapshot, Spec(gpus: 2), ReplicaTier.Burst)?.NodeId);
    }

    [Fact]
    public void Plan_BatchReplica_WakesItsOwnEngineWhereItsGpusAreFreeButPreemptsNothingToDoSo()
    {
        // Batch "d" was preempted on GPU 2 and sleeps there. Free again, the GPU wakes it (seconds, not a reload).
        var sleeper = Node("sleeper").Fill("b", ReplicaTier.Batch).Free("b2") with { Sleeping = [new SleepingEngine("d", "model", [2], 100, Batch: true)] };
        var batch = Spec(cls: DeploymentClass.Batch);
        Assert.Equal(new GpuClaim("sleeper", [2], []), PlacementPlanner.Plan(Snapshot(sleeper, Node("free", hourlyCostUsd: 8m)), batch, ReplicaTier.Batch));

        // Held by other batch work, the engine cannot wake: nothing ranks below batch.
        var held = Node("sleeper").Fill("b", ReplicaTier.Batch) with { Sleeping = [new SleepingEngine("d", "model", [2], 100, Batch: true)] };
        Assert.Equal("free", PlacementPlanner.Plan(Snapshot(held, Node("free", hourlyCostUsd: 8m)), batch, ReplicaTier.Batch)?.NodeId);
    }

    [Fact]
    public void Plan_BatchEnginesAsleep_DoNotKeepOtherReplicasOffTheirGpus()
    {
        var node = Node("n").Fill("b", ReplicaTier.Batch) with { Sleeping = [new SleepingEngine("batch", "model", [0, 1], 100, Batch: true)] };

        Assert.Equal(new GpuClaim("n", [0, 1], ["b0", "b1"]), PlacementPlanner.Plan(Snapshot(node), Spec(gpus: 2), ReplicaTier.Burst));
    }

    [Fact]
    public void Plan_PreemptingBatch_KeepsOffTheGpusAnotherDeploymentsEngineSleepsOnWhenItCan()
    {
        // Batch fills the node; serverless "s" sleeps on GPUs 0-1. A dedicated replica of another deployment takes batch
        // GPUs where "s" could not wake, not the lowest-numbered ones.
        var node = Node("n").Fill("b", ReplicaTier.Batch) with { Sleeping = [new SleepingEngine("s", "model", [0, 1], 100)] };

        var claim = PlacementPlanner.Plan(Snapshot(node), Spec(gpus: 2), ReplicaTier.Burst);

        Assert.Equal(new GpuClaim("n", [2, 3], ["b2", "b3"]), claim);
    }

    [Fact]
    public void Plan_PreemptingBatchWithEqualVictimsOnTwoNodes_PicksTheNodeWhereNoEngineSleeps()
    {
        // "a" sorts first and would win the tie, but its every GPU is under a sleeping engine.
        var a = Node("a").Fill("b", ReplicaTier.Batch) with { Sleeping = [new SleepingEngine("s", "model", [0, 1, 2, 3, 4, 5, 6, 7], 100)] };
        var snapshot = Snapshot(a, Node("z").Fill("b", ReplicaTier.Batch));

        Assert.Equal("z", PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Reserved)?.NodeId);
    }

    [Fact]
    public void Plan_FreeGpus_ThoseNoEngineSleepsOnFirst()
    {
        var node = Node("n") with { Sleeping = [new SleepingEngine("s", "model", [0, 1, 2], 100)] };

        Assert.Equal(new GpuClaim("n", [3, 4], []), PlacementPlanner.Plan(Snapshot(node), Spec(gpus: 2), ReplicaTier.Serverless));
    }

    [Fact]
    public void Plan_OnlyGpusUnderASleepingEngineLeft_TakesThemRatherThanNothing()
    {
        var node = Node("n", gpus: 2) with { Sleeping = [new SleepingEngine("s", "model", [0, 1], 100)] };

        Assert.Equal(new GpuClaim("n", [0, 1], []), PlacementPlanner.Plan(Snapshot(node), Spec(gpus: 2), ReplicaTier.Reserved));
    }

    [Fact]
    public void Plan_SleepingEnginesNeverOutweighVictimTiers_BatchStillGoesBeforeServerless()
    {
        // Batch on "a" lodges on a sleeping engine's GPUs; serverless on "z" does not. Preempting serverless would keep the
        // engine's wake, but a served request outranks a wake that may never be asked for.
        var a = Node("a", gpus: 2).Fill("b", ReplicaTier.Batch) with { Sleeping = [new SleepingEngine("s", "model", [0, 1], 100)] };
        var z = Node("z", gpus: 2).Fill("sv", ReplicaTier.Serverless);

        Assert.Equal("a", PlacementPlanner.Plan(Snapshot(a, z), Spec(), ReplicaTier.Reserved)?.NodeId);
    }
}
