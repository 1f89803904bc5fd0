using ControlPlane.NodeAgent.Replicas;
using ControlPlane.NodeAgent.Tests.Support;

namespace ControlPlane.NodeAgent.Tests.Replicas;

public sealed class SimulatedReplicaRuntimeTests
{
    private static readonly ReplicaSpec Spec = new("r1", "dep-1", "model-a", [0]);

    [Fact]
    public async Task Start_LoadTime_StartingUntilTheLoadTimePasses()
    {
        var time = new StepTimeProvider();
        var runtime = new SimulatedReplicaRuntime(TimeSpan.FromSeconds(5), time);

        var replica = runtime.Start(Spec);

        Assert.Equal(ReplicaStatus.Starting, replica.Status);
        var loaded = await time.NextTimerAsync();
        Assert.Equal(TimeSpan.FromSeconds(5), loaded.DueTime);
        Assert.Equal(ReplicaStatus.Starting, replica.Status);
        loaded.Fire();
        await Poll.UntilAsync(() => replica.Status == ReplicaStatus.Ready, "the replica to turn ready");
    }

    [Fact]
    public void Start_ZeroLoadTime_IsReadyAtOnce()
    {
        var runtime = new SimulatedReplicaRuntime(TimeSpan.Zero, new StepTimeProvider());

        var replica = runtime.Start(Spec);

        Assert.Equal(ReplicaStatus.Ready, replica.Status);
        Assert.Same(Spec, replica.Spec);
    }

    [Fact]
    public async Task StopAsync_WhileLoading_CompletesAtOnceAndCancelsTheLoad()
    {
        var time = new StepTimeProvider();
        var replica = new SimulatedReplicaRuntime(TimeSpan.FromSeconds(5), time).Start(Spec);
        var loaded = await time.NextTimerAsync();

        var stopped = replica.StopAsync();

        Assert.True(stopped.IsCompletedSuccessfully);
        Assert.True(loaded.IsDisposed);
        Assert.Equal(ReplicaStatus.Starting, replica.Status);
    }

    [Fact]
    public async Task Wake_SleepingReplica_FallsAsleepAtOnceAndWakesAfterTheWakeTime()
    {
        var time = new StepTimeProvider();
        var replica = new SimulatedReplicaRuntime(TimeSpan.Zero, time, wakeTime: TimeSpan.FromSeconds(2)).Start(Spec);

        Assert.True(await replica.SleepAsync());
        var woken = replica.Wake(Spec with { ReplicaId = "r2" });

        Assert.Equal("r2", woken.Spec.ReplicaId);
        Assert.Equal(ReplicaStatus.Starting, woken.Status);
        var awake = await time.NextTimerAsync();
        Assert.Equal(TimeSpan.FromSeconds(2), awake.DueTime);
        awake.Fire();
        await Poll.UntilAsync(() => woken.Status == ReplicaStatus.Ready, "the woken replica to turn ready");
    }

    [Fact]
    public async Task SleepAsync_AfterStop_IsRefused()
    {
        var replica = new SimulatedReplicaRuntime(TimeSpan.Zero, new StepTimeProvider()).Start(Spec);
        await replica.StopAsync();

        Assert.False(await replica.SleepAsync());
    }
}
