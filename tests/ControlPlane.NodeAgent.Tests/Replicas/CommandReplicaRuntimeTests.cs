using ControlPlane.NodeAgent.Replicas;
using ControlPlane.NodeAgent.Tests.Support;

namespace ControlPlane.NodeAgent.Tests.Replicas;

/// <summary>The command runtime with real <c>/bin/sh</c> commands; they leave evidence in a scratch folder.</summary>
[Collection(ProcessCollection.Name)]
public sealed class CommandReplicaRuntimeTests : IAsyncDisposable
{
    private static readonly ReplicaSpec Spec = new("r1", "dep-7", "org/model a'b; touch injected", [3, 1]);

    private readonly ScratchDirectory _scratch = new();
    private readonly LogCapture _log = new();
    private readonly List<IReplica> _started = [];

    [Fact]
    public async Task Start_StartCommand_SeesTheReplicaInItsEnvironment()
    {
        var replica = Start(new CommandRuntimeOptions(
            $"""
            cd '{_scratch.Path}'
            printf '%s\n' "$CONTROLPLANE_REPLICA_ID" "$CONTROLPLANE_DEPLOYMENT_ID" "$CONTROLPLANE_MODEL" "$CONTROLPLANE_GPU_INDICES" "$CUDA_VISIBLE_DEVICES" > env.tmp
            mv env.tmp env
            exec sleep 600
            """,
            StopCommand: null,
            ReadyCommand: null));

        var envFile = Path.Combine(_scratch.Path, "env");
        await Poll.UntilAsync(() => File.Exists(envFile), "the start command to write its environment");

        Assert.Equal(["r1", "dep-7", "org/model a'b; touch injected", "3,1", "3,1"], File.ReadAllLines(envFile));
        Assert.False(File.Exists(Path.Combine(_scratch.Path, "injected")));
        Assert.Equal(ReplicaStatus.Ready, replica.Status);
    }

    [Fact]
    public async Task StopAsync_NoStopCommand_TerminatesTheStartCommandAndItsChildren()
    {
        var replica = Start(new CommandRuntimeOptions(
            $"""
            cd '{_scratch.Path}'
            sleep 600 &
            echo $! > child.pid
            echo $$ > shell.pid
            wait
            """,
            StopCommand: null,
            ReadyCommand: null));
        var child = await ReadPidAsync("child.pid");
        var shell = await ReadPidAsync("shell.pid");
        Assert.True(ProcessState.IsRunning(shell));
        Assert.True(ProcessState.IsRunning(child));

        await replica.StopAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);

        Assert.False(ProcessState.IsRunning(shell));
        await Poll.UntilAsync(() => !ProcessState.IsRunning(child), "the start command's child to end");
        Assert.Equal(ReplicaStatus.Ready, replica.Status);
        Assert.DoesNotContain(_log.Lines, l => l.Contains("killing it", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StopAsync_ShellExitsBeforeItsChild_WaitsForTheChildToShutDown()
    {
        var replica = Start(new CommandRuntimeOptions(
            $"""
            cd '{_scratch.Path}'
            sh -c 'trap "sleep 0.3; echo done > graceful; exit 0" TERM; echo $$ > child.pid; while :; do sleep 0.05; done' &
            wait
            """,
            StopCommand: null,
            ReadyCommand: null));
        var child = await ReadPidAsync("child.pid");

        await replica.StopAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);

        Assert.Equal("done", File.ReadAllText(Path.Combine(_scratch.Path, "graceful")).Trim());
        Assert.False(ProcessState.IsRunning(child));
        Assert.DoesNotContain(_log.Lines, l => l.Contains("killing it", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StopAsync_ProcessIgnoresSigterm_KillsItAfterTheStopTimeout()
    {
        var replica = Start(new CommandRuntimeOptions(
            $"""
            trap '' TERM
            echo $$ > '{_scratch.Path}/shell.pid'
            exec sleep 600
            """,
            StopCommand: null,
            ReadyCommand: null) { StopTimeout = TimeSpan.FromMilliseconds(300) });
        var shell = await ReadPidAsync("shell.pid");

        await replica.StopAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);

        Assert.False(ProcessState.IsRunning(shell));
        Assert.Contains(_log.Lines, l => l.Contains(" warn  replica r1 did not stop within 0.3 s; killing it", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StopAsync_StopCommand_RunsItWithTheReplicaEnvironment()
    {
        var replica = Start(new CommandRuntimeOptions(
            $"""
            echo $$ > '{_scratch.Path}/shell.pid'
            exec sleep 600
            """,
            StopCommand: $"""
            cd '{_scratch.Path}'
            echo "$CONTROLPLANE_REPLICA_ID $CUDA_VISIBLE_DEVICES" > stopped-by
            kill "$(cat shell.pid)"
            """,
            ReadyCommand: null));
        var shell = await ReadPidAsync("shell.pid");

        await replica.StopAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);

        Assert.Equal("r1 3,1", File.ReadAllText(Path.Combine(_scratch.Path, "stopped-by")).Trim());
        Assert.False(ProcessState.IsRunning(shell));
        Assert.DoesNotContain(_log.Lines, l => l.Contains(" warn ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("false")]
    public async Task Start_StartCommandExits_IsFailed(string? readyCommand)
    {
        var replica = Start(new CommandRuntimeOptions("exit 3", StopCommand: null, readyCommand) { ReadyInterval = TimeSpan.FromMilliseconds(50) });

        await Poll.UntilAsync(() => replica.Status.State == ReplicaState.Failed, "the replica to fail");

        Assert.Equal(ReplicaStatus.Failed("start command exited with code 3"), replica.Status);
        await replica.StopAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
        Assert.Equal(ReplicaState.Failed, replica.Status.State);
    }

    [Fact]
    public async Task Start_ReadyCommand_StartingUntilItExitsZero()
    {
        var probes = Path.Combine(_scratch.Path, "probes");
        var replica = Start(new CommandRuntimeOptions(
            "exec sleep 600",
            StopCommand: null,
            ReadyCommand: $"""
            cd '{_scratch.Path}'
            echo "$CONTROLPLANE_REPLICA_ID" >> probes
            out=$(readlink /proc/$$/fd/1 /proc/$$/fd/2)
            echo "$out" > probe-output
            test -f ready
            """) { ReadyInterval = TimeSpan.FromMilliseconds(50) });

        await Poll.UntilAsync(() => File.Exists(probes) && File.ReadAllLines(probes).Length >= 2, "the ready command to run twice");
        Assert.Equal(ReplicaStatus.Starting, replica.Status);
        await File.WriteAllTextAsync(Path.Combine(_scratch.Path, "ready"), "", TestContext.Current.CancellationToken);
        await Poll.UntilAsync(() => replica.Status == ReplicaStatus.Ready, "the replica to turn ready");

        Assert.All(File.ReadAllLines(probes), line => Assert.Equal("r1", line));
        Assert.Single(_log.Lines, l => l.Contains("replica r1 not ready yet: ready command exited with code 1; trying every 0.05 s", StringComparison.Ordinal));

        // What a health check prints every few seconds does not belong in the agent's output.
        Assert.Equal(["/dev/null", "/dev/null"], File.ReadAllLines(Path.Combine(_scratch.Path, "probe-output")));
    }

    [Fact]
    public async Task Start_ReadyCommandHangs_KillsItAndTriesAgain()
    {
        var replica = Start(new CommandRuntimeOptions(
            "exec sleep 600",
            StopCommand: null,
            ReadyCommand: $"echo $$ >> '{_scratch.Path}/probes'; exec sleep 600")
        {
            ReadyInterval = TimeSpan.FromMilliseconds(50),
            ReadyTimeout = TimeSpan.FromMilliseconds(200),
        });
        var probes = Path.Combine(_scratch.Path, "probes");

        await Poll.UntilAsync(() => File.Exists(probes) && File.ReadAllLines(probes).Length >= 2, "the ready command to be tried again");

        Assert.False(ProcessState.IsRunning(int.Parse(File.ReadAllLines(probes)[0], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(ReplicaStatus.Starting, replica.Status);
        Assert.Contains(_log.Lines, l => l.Contains("ready command did not finish within 0.2 s and was killed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StopAsync_WhileProbing_StopsProbingAndKeepsStarting()
    {
        var replica = Start(new CommandRuntimeOptions(
            $"echo $$ > '{_scratch.Path}/shell.pid'; exec sleep 600",
            StopCommand: null,
            ReadyCommand: "exit 1") { ReadyInterval = TimeSpan.FromMilliseconds(50) });
        var shell = await ReadPidAsync("shell.pid");

        await replica.StopAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);

        Assert.False(ProcessState.IsRunning(shell));
        Assert.Equal(ReplicaStatus.Starting, replica.Status);
    }

    [Fact]
    public void StopAsync_CalledTwice_ReturnsTheSameTask()
    {
        var replica = Start(new CommandRuntimeOptions("exec sleep 600", StopCommand: null, ReadyCommand: null));

        Assert.Same(replica.StopAsync(), replica.StopAsync());
    }

    [Fact]
    public async Task SleepAndWake_Commands_SeeTheEnginesVariablesAndTheWokenReplicaTurnsReadyUnderItsNewId()
    {
        var replica = Start(new CommandRuntimeOptions("exec sleep 600", StopCommand: null, ReadyCommand: null)
        {
            SleepCommand = $"echo \"$CONTROLPLANE_REPLICA_ID $CUDA_VISIBLE_DEVICES\" > '{_scratch.Path}/slept'",
            WakeCommand = $"echo \"$CONTROLPLANE_REPLICA_ID $CONTROLPLANE_WAKE_REPLICA_ID\" > '{_scratch.Path}/woke'",
        });

        Assert.True(await replica.SleepAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken));
        var woken = replica.Wake(Spec with { ReplicaId = "r2" });
        _started.Add(woken);

        await Poll.UntilAsync(() => woken.Status == ReplicaStatus.Ready, "the wake command to finish");
        Assert.Equal("r2", woken.Spec.ReplicaId);
        Assert.Equal("r1 3,1", File.ReadAllText(Path.Combine(_scratch.Path, "slept")).Trim());
        Assert.Equal("r1 r2", File.ReadAllText(Path.Combine(_scratch.Path, "woke")).Trim());
    }

    [Fact]
    public async Task SleepAsync_SleepCommandFails_ReturnsFalseAndSaysWhy()
    {
        var replica = Start(new CommandRuntimeOptions("exec sleep 600", StopCommand: null, ReadyCommand: null) { SleepCommand = "exit 4", WakeCommand = "true" });

        Assert.False(await replica.SleepAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken));

        Assert.Contains(_log.Lines, l => l.Contains("replica r1: sleep command exited with code 4", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Wake_WakeCommandFails_TheWokenReplicaFails()
    {
        var replica = Start(new CommandRuntimeOptions("exec sleep 600", StopCommand: null, ReadyCommand: null) { SleepCommand = "true", WakeCommand = "exit 3" });
        Assert.True(await replica.SleepAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken));

        var woken = replica.Wake(Spec with { ReplicaId = "r2" });
        _started.Add(woken);

        await Poll.UntilAsync(() => woken.Status.State == ReplicaState.Failed, "the wake to fail");
        Assert.Equal("wake command exited with code 3", woken.Status.Failure);
    }

    [Fact]
    public async Task Wake_StoppingTheWokenReplica_StopsTheEngine()
    {
        var replica = Start(new CommandRuntimeOptions($"echo $$ > '{_scratch.Path}/shell.pid'; exec sleep 600", StopCommand: null, ReadyCommand: null)
        {
            SleepCommand = "true",
            WakeCommand = "true",
        });
        var shell = await ReadPidAsync("shell.pid");
        Assert.True(await replica.SleepAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken));
        var woken = replica.Wake(Spec with { ReplicaId = "r2" });
        await Poll.UntilAsync(() => woken.Status == ReplicaStatus.Ready, "the wake command to finish");

        await woken.StopAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);

        Assert.False(ProcessState.IsRunning(shell));
    }

    [Fact]
    public void CanSleep_OnlyWithBothCommands()
    {
        var log = new AgentLog(_log, TimeProvider.System);

        Assert.False(new CommandReplicaRuntime(new CommandRuntimeOptions("x", null, null), log, TimeProvider.System).CanSleep);
        Assert.True(new CommandReplicaRuntime(new CommandRuntimeOptions("x", null, null) { SleepCommand = "s", WakeCommand = "w" }, log, TimeProvider.System).CanSleep);
    }

    public async ValueTask DisposeAsync()
    {
        // Nothing a test started may outlive it, whatever it asserted.
        await Task.WhenAll(_started.Select(r => r.StopAsync())).WaitAsync(TestDeadline.Value);
        _scratch.Dispose();
    }

    private IReplica Start(CommandRuntimeOptions options)
    {
        var replica = new CommandReplicaRuntime(options, new AgentLog(_log, TimeProvider.System), TimeProvider.System).Start(Spec);
        _started.Add(replica);
        return replica;
    }

    private Task<int> ReadPidAsync(string name) => ProcessState.ReadPidAsync(Path.Combine(_scratch.Path, name));
}
