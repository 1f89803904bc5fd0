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
}
