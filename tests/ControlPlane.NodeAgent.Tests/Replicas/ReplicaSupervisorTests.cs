using ControlPlane.NodeAgent.Heartbeats;
using ControlPlane.NodeAgent.Replicas;
using ControlPlane.NodeAgent.Tests.Support;

namespace ControlPlane.NodeAgent.Tests.Replicas;

public sealed class ReplicaSupervisorTests
{
    private readonly FakeReplicaRuntime _runtime = new();
    private readonly LogCapture _log = new();
    private readonly ReplicaSupervisor _supervisor;

    public ReplicaSupervisorTests()
    {
        _supervisor = new ReplicaSupervisor(_runtime, new AgentLog(_log, TimeProvider.System), TimeProvider.System);
    }

    [Fact]
    public void Reconcile_NewReplicas_StartsEachWithItsSpec()
    {
        _supervisor.Reconcile([Desired("r1", 0, 1), Desired("r2", 2)]);

        Assert.Equal(
            [new ReplicaSpec("r1", "dep-1", "model-a", [0, 1]), new ReplicaSpec("r2", "dep-1", "model-a", [2])],
            _runtime.Started.Select(r => r.Spec));
        Assert.Equal([Report("r1", ReplicaState.Starting), Report("r2", ReplicaState.Starting)], _supervisor.Report());
        Assert.Contains(_log.Lines, l => l.Contains("starting replica r1: deployment dep-1, model model-a, GPUs 0,1", StringComparison.Ordinal));
    }

    [Fact]
    public void Reconcile_SameListAgain_KeepsTheRunningReplicas()
    {
        _supervisor.Reconcile([Desired("r1", 0), Desired("r2", 1)]);

        _supervisor.Reconcile([Desired("r2", 1), Desired("r1", 0)]);

        Assert.Equal(2, _runtime.Started.Count);
        Assert.All(_runtime.Started, r => Assert.Equal(0, r.StopCalls));
    }

    [Fact]
    public void Reconcile_ReplicaLeftOut_StopsItAndReportsItUntilItHasStopped()
    {
        _supervisor.Reconcile([Desired("r1", 0), Desired("r2", 1)]);
        _runtime.Get("r1").Status = ReplicaStatus.Ready;

        _supervisor.Reconcile([Desired("r2", 1)]);

        var r1 = _runtime.Get("r1");
        Assert.Equal(1, r1.StopCalls);
        Assert.Equal(0, _runtime.Get("r2").StopCalls);
        Assert.Equal([Report("r1", ReplicaState.Ready), Report("r2", ReplicaState.Starting)], _supervisor.Report());

        r1.FinishStopping();

        Assert.Equal([Report("r2", ReplicaState.Starting)], _supervisor.Report());
        Assert.Contains(_log.Lines, l => l.Contains("stopping replica r1: no longer desired", StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.EndsWith("replica r1 stopped", StringComparison.Ordinal));
    }

    [Fact]
    public void Reconcile_NullDesired_KeepsTheCurrentSet()
    {
        _supervisor.Reconcile([Desired("r1", 0)]);

        _supervisor.Reconcile(null);

        Assert.Equal(0, _runtime.Get("r1").StopCalls);
        Assert.Equal([Report("r1", ReplicaState.Starting)], _supervisor.Report());
        Assert.Equal(1, _runtime.ReconciledCalls);
    }

    [Fact]
    public void Reconcile_EveryList_TellsTheRuntimeOnceItsReplicasAreStarted()
    {
        _supervisor.Reconcile([Desired("r1", 0)]);
        _supervisor.Reconcile([]);

        Assert.Equal(2, _runtime.ReconciledCalls);
        Assert.True(_supervisor.StopsReplicasOnExit);
    }

    [Fact]
    public void Reconcile_EmptyDesired_StopsEverything()
    {
        _supervisor.Reconcile([Desired("r1", 0), Desired("r2", 1)]);

        _supervisor.Reconcile([]);

        Assert.All(_runtime.Started, r => Assert.Equal(1, r.StopCalls));
    }

    [Fact]
    public void Reconcile_DesiredAgainWhileStopping_StartsItOnlyOnceStopped()
    {
        _supervisor.Reconcile([Desired("r1", 0)]);
        _supervisor.Reconcile([]);
        var first = _runtime.Get("r1");

        _supervisor.Reconcile([Desired("r1", 0)]);
        Assert.Single(_runtime.Started);

        first.FinishStopping();
        _supervisor.Reconcile([Desired("r1", 0)]);

        Assert.Equal(2, _runtime.Started.Count);
        Assert.NotSame(first, _runtime.Get("r1"));
        Assert.Equal([Report("r1", ReplicaState.Starting)], _supervisor.Report());
    }

    [Fact]
    public void Reconcile_NewReplicaOnTheGpusOfAStoppingOne_StartsItOnlyOnceTheyAreFree()
    {
        _supervisor.Reconcile([Desired("old", 0, 1), Desired("other", 2)]);

        _supervisor.Reconcile([Desired("other", 2), Desired("new", 1), Desired("elsewhere", 3)]);

        Assert.Equal(["old", "other", "elsewhere"], _runtime.Started.Select(r => r.Spec.ReplicaId));
        Assert.Contains(_log.Lines, l => l.Contains("replica new waits for replica old to stop and free GPUs 0,1", StringComparison.Ordinal));

        _runtime.Get("old").FinishStopping();
        _supervisor.Reconcile([Desired("other", 2), Desired("new", 1), Desired("elsewhere", 3)]);

        Assert.Equal(["old", "other", "elsewhere", "new"], _runtime.Started.Select(r => r.Spec.ReplicaId));
        Assert.Equal(
            [Report("elsewhere", ReplicaState.Starting), Report("new", ReplicaState.Starting), Report("other", ReplicaState.Starting)],
            _supervisor.Report());
    }

    [Fact]
    public void Reconcile_MalformedEntries_StartsTheGoodOnesAndLogsEachProblemOnce()
    {
        DesiredReplica?[] desired =
        [
            null,
            new DesiredReplica(null, "dep-1", "model-a", [0]),
            new DesiredReplica("r-no-model", "dep-1", null, [1]),
            new DesiredReplica("r-bad-gpu", "dep-1", "model-a", [-1]),
            new DesiredReplica("r-same-gpu", "dep-1", "model-a", [2, 2]),
            new DesiredReplica("r-no-gpus", "dep-1", "model-a", null),
            new DesiredReplica("r ok", "dep-1", "model-a", [3]),
            Desired("r1", 4),
            Desired("r1", 5),
        ];

        _supervisor.Reconcile(desired);
        _supervisor.Reconcile(desired);

        var started = Assert.Single(_runtime.Started);
        Assert.Equal(new ReplicaSpec("r1", "dep-1", "model-a", [4]), started.Spec);
        var errors = _log.Lines.Where(l => l.Contains(" error ", StringComparison.Ordinal)).ToList();
        Assert.Equal(8, errors.Count);
        Assert.Contains(errors, l => l.EndsWith("heartbeat reply: desired[0] ignored: null instead of a replica", StringComparison.Ordinal));
        Assert.Contains(errors, l => l.Contains("desired[1] ignored: replicaId must be", StringComparison.Ordinal));
        Assert.Contains(errors, l => l.Contains("desired[2] ignored: replica 'r-no-model': model must be", StringComparison.Ordinal));
        Assert.Contains(errors, l => l.Contains("desired[3] ignored: replica 'r-bad-gpu': gpuIndices must be from 0 to 63, got [-1]", StringComparison.Ordinal));
        Assert.Contains(errors, l => l.Contains("desired[4] ignored: replica 'r-same-gpu': gpuIndices must not repeat a GPU", StringComparison.Ordinal));
        Assert.Contains(errors, l => l.Contains("desired[5] ignored: replica 'r-no-gpus': gpuIndices must name at least one GPU", StringComparison.Ordinal));
        Assert.Contains(errors, l => l.Contains("desired[6] ignored: replicaId must be 1 to 128 characters without spaces", StringComparison.Ordinal));
        Assert.Contains(errors, l => l.Contains("desired[8] ignored: replica 'r1' is listed twice", StringComparison.Ordinal));
    }

    [Fact]
    public void Reconcile_ProblemGoneAndBack_LogsItAgain()
    {
        DesiredReplica?[] broken = [new DesiredReplica("r1", "dep-1", "model-a", [])];

        _supervisor.Reconcile(broken);
        _supervisor.Reconcile([]);
        _supervisor.Reconcile(broken);

        Assert.Equal(2, _log.Lines.Count(l => l.Contains("gpuIndices must name at least one GPU", StringComparison.Ordinal)));
    }

    [Fact]
    public void Reconcile_RunningReplicaDesiredWithOtherGpus_KeepsItAndWarnsOnce()
    {
        _supervisor.Reconcile([Desired("r1", 0)]);

        _supervisor.Reconcile([Desired("r1", 1)]);
        _supervisor.Reconcile([Desired("r1", 1)]);

        var replica = Assert.Single(_runtime.Started);
        Assert.Equal(0, replica.StopCalls);
        Assert.Single(_log.Lines, l => l.Contains("replica r1 is desired with deployment dep-1, model model-a, GPUs 1, but runs with", StringComparison.Ordinal));
    }

    [Fact]
    public void Report_StateChanges_AreLoggedOnce()
    {
        _supervisor.Reconcile([Desired("r1", 0), Desired("r2", 1)]);
        _runtime.Get("r1").Status = ReplicaStatus.Ready;
        _runtime.Get("r2").Status = ReplicaStatus.Failed("start command exited with code 3");

        var first = _supervisor.Report();
        var second = _supervisor.Report();

        Assert.Equal([Report("r1", ReplicaState.Ready), Report("r2", ReplicaState.Failed)], first);
        Assert.Equal(first, second);
        Assert.Single(_log.Lines, l => l.EndsWith(" info  replica r1 ready", StringComparison.Ordinal));
        Assert.Single(_log.Lines, l => l.EndsWith(" error replica r2 failed: start command exited with code 3", StringComparison.Ordinal));
    }

    [Fact]
    public void Report_ReplicaFailed_IsNotRestartedWhileDesired()
    {
        _supervisor.Reconcile([Desired("r1", 0)]);
        _runtime.Get("r1").Status = ReplicaStatus.Failed("start command exited with code 1");

        _supervisor.Reconcile([Desired("r1", 0)]);

        Assert.Single(_runtime.Started);
        Assert.Equal([Report("r1", ReplicaState.Failed)], _supervisor.Report());
    }

    [Fact]
    public async Task StopAllAsync_RunningAndStoppingReplicas_WaitsForAllOfThem()
    {
        _supervisor.Reconcile([Desired("r1", 0), Desired("r2", 1)]);
        _supervisor.Reconcile([Desired("r2", 1)]);

        var stopping = _supervisor.StopAllAsync(TestDeadline.Value);

        Assert.False(stopping.IsCompleted);
        Assert.All(_runtime.Started, r => Assert.Equal(1, r.StopCalls));
        _runtime.Get("r1").FinishStopping();
        Assert.False(stopping.IsCompleted);
        _runtime.Get("r2").FinishStopping();
        await stopping.WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
        Assert.Empty(_supervisor.Report());
    }

    [Fact]
    public async Task StopAllAsync_ReplicaNeverStops_GivesUpAfterTheTimeout()
    {
        var time = new StepTimeProvider();
        var supervisor = new ReplicaSupervisor(_runtime, new AgentLog(_log, TimeProvider.System), time);
        supervisor.Reconcile([Desired("r1", 0)]);

        var stopping = supervisor.StopAllAsync(TimeSpan.FromSeconds(20));
        var timeout = await time.NextTimerAsync();
        Assert.Equal(TimeSpan.FromSeconds(20), timeout.DueTime);
        timeout.Fire();
        await stopping.WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);

        Assert.Contains(_log.Lines, l => l.Contains("replicas still stopping after 20 s, exiting anyway: r1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StopAllAsync_NoReplicas_ReturnsAtOnceWithoutLogging()
    {
        await _supervisor.StopAllAsync(TestDeadline.Value);

        Assert.Empty(_log.Lines);
    }

    private static DesiredReplica Desired(string replicaId, params int[] gpus) => new(replicaId, "dep-1", "model-a", gpus);

    private static ReplicaReport Report(string replicaId, ReplicaState state) => new(replicaId, state);
}
