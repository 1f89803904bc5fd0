using ControlPlane.NodeAgent.Heartbeats;
using ControlPlane.NodeAgent.Replicas;
using ControlPlane.NodeAgent.Tests.Support;

namespace ControlPlane.NodeAgent.Tests.Replicas;

public sealed class ReplicaSupervisorSleepTests
{
    private const long Budget = 100;

    private readonly FakeReplicaRuntime _runtime = new();
    private readonly LogCapture _log = new();
    private readonly Dictionary<string, long> _weights = new(StringComparer.Ordinal) { ["model-a"] = 40, ["model-b"] = 40, ["model-huge"] = 150 };
    private readonly ReplicaSupervisor _supervisor;

    public ReplicaSupervisorSleepTests()
    {
        _supervisor = Supervisor(Budget);
    }

    [Fact]
    public void Reconcile_ReadyDedicatedReplicaNoLongerDesired_SleepsInsteadOfStopping()
    {
        var r1 = StartReady(Desired("r1", "reserved", 1, 0));

        _supervisor.Reconcile([]);

        Assert.Equal(1, r1.SleepCalls);
        Assert.Equal(0, r1.StopCalls);
        Assert.Empty(_supervisor.Report());
        var sleeping = Assert.Single(_supervisor.Sleeping()!);
        Assert.Equal(("dep-1", "model-a", 40L), (sleeping.DeploymentId, sleeping.Model, sleeping.Bytes));
        Assert.Equal([0, 1], sleeping.GpuIndices);
        Assert.Contains(_log.Lines, l => l.EndsWith("replica r1 asleep on GPUs 1,0", StringComparison.Ordinal));
    }

    [Fact]
    public void Reconcile_BurstReplica_SleepsToo()
    {
        var r1 = StartReady(Desired("r1", "burst", 0));

        _supervisor.Reconcile([]);

        Assert.Equal((1, 0), (r1.SleepCalls, r1.StopCalls));
        Assert.Single(_supervisor.Sleeping()!);
    }

    [Theory]
    [InlineData("reserved")]
    [InlineData("serverless")]
    public void Reconcile_ReadyDedicatedOrServerlessReplicaLeavesTheList_Sleeps(string tier)
    {
        _supervisor.Reconcile([new DesiredReplica("r1", "dep-1", "model-a", [0], null, tier)]);
        _runtime.Get("r1").Status = ReplicaStatus.Ready;

        _supervisor.Reconcile([]);

        Assert.Equal((1, 0), (_runtime.Get("r1").SleepCalls, _runtime.Get("r1").StopCalls));
        Assert.Single(_supervisor.Sleeping()!);
    }

    [Theory]
    [InlineData(null, "model-a", true)]
    [InlineData("reserved", "model-a", false)]
    [InlineData("reserved", "model-not-cached", true)]
    [InlineData("reserved", "model-huge", true)]
    public void Reconcile_NoTierNotReadyUnknownSizeOrOverBudget_Stops(string? tier, string model, bool ready)
    {
        _supervisor.Reconcile([new DesiredReplica("r1", "dep-1", model, [0], null, tier)]);
        if (ready)
        {
            _runtime.Get("r1").Status = ReplicaStatus.Ready;
        }

        _supervisor.Reconcile([]);

        var r1 = _runtime.Get("r1");
        Assert.Equal((0, 1), (r1.SleepCalls, r1.StopCalls));
        Assert.Empty(_supervisor.Sleeping()!);
    }

    [Fact]
    public void Reconcile_NoBudgetOrARuntimeThatCannotSleep_StopsAndReportsNoSleepingList()
    {
        var noBudget = Supervisor(0);
        noBudget.Reconcile([Desired("r1", "reserved", 0)]);
        _runtime.Get("r1").Status = ReplicaStatus.Ready;
        var cannot = new FakeReplicaRuntime { CanSleep = false };
        var noRuntime = new ReplicaSupervisor(cannot, new AgentLog(_log, TimeProvider.System), TimeProvider.System, new SleepPolicy(Budget, _ => 40));
        noRuntime.Reconcile([Desired("r2", "reserved", 0)]);
        cannot.Get("r2").Status = ReplicaStatus.Ready;

        noBudget.Reconcile([]);
        noRuntime.Reconcile([]);

        Assert.Equal((0, 1), (_runtime.Get("r1").SleepCalls, _runtime.Get("r1").StopCalls));
        Assert.Equal((0, 1), (cannot.Get("r2").SleepCalls, cannot.Get("r2").StopCalls));
        Assert.Null(noBudget.Sleeping());
        Assert.Null(noRuntime.Sleeping());
        Assert.Null(noBudget.SleepBudgetBytes);
        Assert.Null(noRuntime.SleepBudgetBytes);
        Assert.Equal(Budget, _supervisor.SleepBudgetBytes);
    }

    [Fact]
    public void Reconcile_NewReplicaOfTheSleepersDeploymentOnExactlyItsGpus_WakesItUnderTheNewId()
    {
        var r1 = StartReady(Desired("r1", "reserved", 0, 1));
        _supervisor.Reconcile([]);

        _supervisor.Reconcile([Desired("r2", "burst", 1, 0)]);

        Assert.Single(_runtime.Started);
        var woken = Assert.Single(_runtime.Woken);
        Assert.Same(r1, woken.WokenFrom);
        Assert.Equal("r2", woken.Spec.ReplicaId);
        Assert.Equal([new ReplicaReport("r2", ReplicaState.Starting)], _supervisor.Report());
        Assert.Empty(_supervisor.Sleeping()!);

        woken.Status = ReplicaStatus.Ready;
        Assert.Equal([new ReplicaReport("r2", ReplicaState.Ready)], _supervisor.Report());
        Assert.Contains(_log.Lines, l => l.Contains("waking the engine of replica r1 as replica r2", StringComparison.Ordinal));
    }

    [Fact]
    public void Reconcile_WakeWhileTheWorkLodgingOnItsGpusStillStops_WakesItOnceTheyAreFree()
    {
        StartReady(Desired("r1", "reserved", 0, 1));
        _supervisor.Reconcile([]);
        _supervisor.Reconcile([new DesiredReplica("batch-1", "dep-2", "model-b", [0, 1], null, "batch")]);

        // The scheduler preempts the batch replica to wake the engine on its GPUs.
        _supervisor.Reconcile([Desired("r2", "reserved", 0, 1)]);

        Assert.Empty(_runtime.Woken);
        Assert.Equal(1, _runtime.Get("batch-1").StopCalls);
        Assert.Contains(_log.Lines, l => l.Contains("replica r2 waits for replica batch-1 to stop and free GPUs 0,1, then wakes replica r1's engine", StringComparison.Ordinal));

        _runtime.Get("batch-1").FinishStopping();
        _supervisor.Reconcile([Desired("r2", "reserved", 0, 1)]);

        Assert.Equal("r2", Assert.Single(_runtime.Woken).Spec.ReplicaId);
    }

    [Fact]
    public void Reconcile_OtherGpusOrAnotherDeploymentOnTheSleepersGpus_StartsBesideItAndKeepsItAsleep()
    {
        StartReady(Desired("r1", "reserved", 0, 1));
        _supervisor.Reconcile([]);

        _supervisor.Reconcile([Desired("r2", "reserved", 0), new DesiredReplica("r3", "dep-2", "model-a", [1], null, "batch")]);

        Assert.Empty(_runtime.Woken);
        Assert.Equal(["r1", "r2", "r3"], _runtime.Started.Select(r => r.Spec.ReplicaId));
        Assert.Equal(0, _runtime.Get("r1").StopCalls);
        Assert.Single(_supervisor.Sleeping()!);
    }

    [Fact]
    public void Reconcile_SameDeploymentWithAnotherModel_DoesNotWakeIt()
    {
        StartReady(Desired("r1", "reserved", 0));
        _supervisor.Reconcile([]);

        _supervisor.Reconcile([new DesiredReplica("r2", "dep-1", "model-b", [0], "low", "reserved")]);

        Assert.Empty(_runtime.Woken);
        Assert.Equal(2, _runtime.Started.Count);
    }

    [Fact]
    public void Reconcile_SameDeploymentWithAnotherImage_DoesNotWakeIt()
    {
        // A migration to a new engine image: the old engine is not the one the new replica needs.
        StartReady(Desired("r1", "reserved", 0) with { Image = "engine:1" });
        _supervisor.Reconcile([]);

        _supervisor.Reconcile([Desired("r2", "reserved", 0) with { Image = "engine:2" }]);

        Assert.Empty(_runtime.Woken);
        Assert.Equal(2, _runtime.Started.Count);
    }

    [Fact]
    public void Reconcile_SleepingOneMoreExceedsTheBudget_StopsTheLeastRecentlySleptFirst()
    {
        StartReady(Desired("r1", "reserved", 0));
        _supervisor.Reconcile([]);
        StartReady(Desired("r2", "reserved", 1));
        _supervisor.Reconcile([]);
        StartReady(Desired("r3", "reserved", 2));

        _supervisor.Reconcile([]);

        Assert.Equal(1, _runtime.Get("r1").StopCalls);
        Assert.Equal(0, _runtime.Get("r2").StopCalls);
        Assert.Equal(0, _runtime.Get("r3").StopCalls);
        Assert.Equal([[1], [2]], _supervisor.Sleeping()!.Select(s => s.GpuIndices.ToArray()));
        Assert.Contains(_log.Lines, l => l.Contains("stopping replica r1: making room for replica r3 to sleep", StringComparison.Ordinal));
    }

    [Fact]
    public void Reconcile_ReadyBatchReplicaPreempted_SleepsAndIsReportedAsBatch()
    {
        var b1 = StartReady(new DesiredReplica("b1", "dep-2", "model-b", [0], null, "batch"));

        // The scheduler gives its GPU to a dedicated replica: the batch engine sleeps, and the newcomer waits for it.
        _supervisor.Reconcile([Desired("r1", "reserved", 0)]);

        Assert.Equal((1, 0), (b1.SleepCalls, b1.StopCalls));
        var sleeping = Assert.Single(_supervisor.Sleeping()!);
        Assert.Equal(("dep-2", true), (sleeping.DeploymentId, sleeping.Batch));

        // Its GPU free again, a batch replica of the deployment there wakes it instead of loading the model again.
        var b2 = new DesiredReplica("b2", "dep-2", "model-b", [0], null, "batch");
        _supervisor.Reconcile([b2]);
        _runtime.Get("r1").FinishStopping();
        _supervisor.Reconcile([b2]);
        Assert.Equal("b2", Assert.Single(_runtime.Woken).Spec.ReplicaId);
    }

    [Fact]
    public void Reconcile_MakingRoomToSleep_StopsBatchEnginesBeforeTheLeastRecentlySlept()
    {
        StartReady(Desired("r1", "reserved", 0));
        _supervisor.Reconcile([]);
        StartReady(new DesiredReplica("b1", "dep-2", "model-b", [1], null, "batch"));
        _supervisor.Reconcile([]);
        StartReady(Desired("r3", "reserved", 2));

        _supervisor.Reconcile([]);

        Assert.Equal((0, 1), (_runtime.Get("r1").StopCalls, _runtime.Get("b1").StopCalls));
        Assert.Equal([null, null], _supervisor.Sleeping()!.Select(s => s.Batch));
        Assert.Contains(_log.Lines, l => l.Contains("stopping replica b1: making room for replica r3 to sleep (batch engines go first", StringComparison.Ordinal));
    }

    [Fact]
    public void Reconcile_BatchEngineWithoutRoom_StopsRatherThanStopAnotherKindsEngine()
    {
        StartReady(Desired("r1", "reserved", 0));
        _supervisor.Reconcile([]);
        StartReady(Desired("r2", "reserved", 1));
        _supervisor.Reconcile([]);
        var b1 = StartReady(new DesiredReplica("b1", "dep-2", "model-b", [2], null, "batch"));

        _supervisor.Reconcile([]);

        Assert.Equal((0, 1), (b1.SleepCalls, b1.StopCalls));
        Assert.Equal((0, 0), (_runtime.Get("r1").StopCalls, _runtime.Get("r2").StopCalls));
        Assert.Equal(2, _supervisor.Sleeping()!.Count);
    }

    [Fact]
    public void Reconcile_OneLargerThanTheWholeBudget_IsStoppedAndEvictsNothing()
    {
        StartReady(Desired("r1", "reserved", 0));
        _supervisor.Reconcile([]);
        _supervisor.Reconcile([new DesiredReplica("big", "dep-2", "model-huge", [1], "low", "reserved")]);
        _runtime.Get("big").Status = ReplicaStatus.Ready;

        _supervisor.Reconcile([]);

        Assert.Equal((0, 1), (_runtime.Get("big").SleepCalls, _runtime.Get("big").StopCalls));
        Assert.Equal(0, _runtime.Get("r1").StopCalls);
        Assert.Single(_supervisor.Sleeping()!);
    }

    [Fact]
    public void Reconcile_WhileFallingAsleep_ItIsReportedAlreadyAndNewWorkOnItsGpusWaits()
    {
        _supervisor.Reconcile([Desired("r1", "reserved", 0)]);
        var r1 = _runtime.Get("r1");
        r1.Status = ReplicaStatus.Ready;
        r1.SleepsAtOnce = false;

        _supervisor.Reconcile([new DesiredReplica("other", "dep-2", "model-b", [0], null, "batch"), Desired("again", "reserved", 0)]);

        // The scheduler took it as asleep when it released it: the report says so at once, not only once the sleep is done.
        Assert.Equal("dep-1", Assert.Single(_supervisor.Sleeping()!).DeploymentId);
        Assert.Single(_runtime.Started);
        Assert.Contains(_log.Lines, l => l.Contains("replica other waits for replica r1 to fall asleep and free GPUs 0", StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.Contains("replica again waits for replica r1 to fall asleep, then wakes it", StringComparison.Ordinal));

        r1.FinishSleeping(true);
        _supervisor.Reconcile([new DesiredReplica("other", "dep-2", "model-b", [0], null, "batch"), Desired("again", "reserved", 0)]);

        Assert.Equal(["r1", "other"], _runtime.Started.Select(r => r.Spec.ReplicaId));
        Assert.Equal("again", Assert.Single(_runtime.Woken).Spec.ReplicaId);
    }

    [Fact]
    public void StopSleeping_DeploymentsThatNoLongerExist_StopsOnlyTheirSleepingEngines()
    {
        var gone = StartReady(Desired("r1", "reserved", 0));
        _supervisor.Reconcile([Desired("r1", "reserved", 0), new DesiredReplica("r2", "dep-2", "model-b", [1], null, "reserved")]);
        var kept = _runtime.Get("r2");
        kept.Status = ReplicaStatus.Ready;
        _supervisor.Reconcile([]);
        Assert.Equal(2, _supervisor.Sleeping()!.Count);

        _supervisor.StopSleeping(["dep-1", "dep-unknown"]);

        Assert.Equal((1, 1), (gone.SleepCalls, gone.StopCalls));
        Assert.Equal((1, 0), (kept.SleepCalls, kept.StopCalls));
        Assert.Equal("dep-2", Assert.Single(_supervisor.Sleeping()!).DeploymentId);
        Assert.Contains(_log.Lines, l => l.Contains("stopping the sleeping engine of replica r1: deployment dep-1 no longer exists", StringComparison.Ordinal));
    }

    [Fact]
    public void Reconcile_SleepFails_StopsTheReplica()
    {
        _supervisor.Reconcile([Desired("r1", "reserved", 0)]);
        var r1 = _runtime.Get("r1");
        r1.Status = ReplicaStatus.Ready;
        r1.SleepsAtOnce = false;
        _supervisor.Reconcile([]);
        Assert.Single(_supervisor.Sleeping()!);

        r1.FinishSleeping(false);

        Assert.Equal(1, r1.StopCalls);
        Assert.Empty(_supervisor.Sleeping()!);
        Assert.Contains(_log.Lines, l => l.Contains("stopping replica r1: it could not be put to sleep", StringComparison.Ordinal));
    }

    [Fact]
    public void Reconcile_EngineDiedInItsSleep_LeavesTheListAndIsCleanedUp()
    {
        var r1 = StartReady(Desired("r1", "reserved", 0));
        _supervisor.Reconcile([]);
        r1.Status = ReplicaStatus.Failed("start command exited with code 137");

        Assert.Empty(_supervisor.Sleeping()!);
        _supervisor.Reconcile([Desired("r2", "reserved", 0)]);
        Assert.Equal(1, r1.StopCalls);
        r1.FinishStopping();
        _supervisor.Reconcile([Desired("r2", "reserved", 0)]);

        Assert.Empty(_runtime.Woken);
        Assert.Equal(["r1", "r2"], _runtime.Started.Select(r => r.Spec.ReplicaId));
        Assert.Contains(_log.Lines, l => l.Contains("stopping replica r1: its engine died while asleep", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StopAllAsync_SleepingEngines_AreStoppedToo()
    {
        var r1 = StartReady(Desired("r1", "reserved", 0));
        _supervisor.Reconcile([]);
        _supervisor.Reconcile([Desired("r2", "reserved", 1)]);

        var stopping = _supervisor.StopAllAsync(TestDeadline.Value);

        Assert.Equal(1, r1.StopCalls);
        Assert.Equal(1, _runtime.Get("r2").StopCalls);
        r1.FinishStopping();
        _runtime.Get("r2").FinishStopping();
        await stopping.WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
        Assert.Empty(_supervisor.Sleeping()!);
        Assert.Empty(_supervisor.Report());
    }

    private ReplicaSupervisor Supervisor(long budget) =>
        new(_runtime, new AgentLog(_log, TimeProvider.System), TimeProvider.System, new SleepPolicy(budget, m => _weights.TryGetValue(m, out var b) ? b : null));

    private FakeReplica StartReady(DesiredReplica desired)
    {
        _supervisor.Reconcile([desired]);
        var replica = _runtime.Get(desired.ReplicaId!);
        replica.Status = ReplicaStatus.Ready;
        return replica;
    }

    private static DesiredReplica Desired(string replicaId, string tier, params int[] gpus) =>
        new(replicaId, "dep-1", "model-a", gpus, tier is "reserved" or "burst" ? "low" : null, tier);
}
