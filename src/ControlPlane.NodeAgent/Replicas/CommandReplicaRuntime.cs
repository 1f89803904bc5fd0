using System.ComponentModel;
using System.Diagnostics;

namespace ControlPlane.NodeAgent.Replicas;

/// <summary>
/// Runs each replica as a shell command, the way a real engine such as vLLM is launched: the start command stays in
/// the foreground for as long as the replica runs, and learns what to serve from environment variables
/// (never spliced into the command, so a model name cannot inject shell syntax).
/// </summary>
internal sealed class CommandReplicaRuntime(CommandRuntimeOptions options, AgentLog log, TimeProvider time) : IReplicaRuntime
{
    public const string ReplicaIdVariable = "CONTROLPLANE_REPLICA_ID";
    public const string DeploymentIdVariable = "CONTROLPLANE_DEPLOYMENT_ID";
    public const string ModelVariable = "CONTROLPLANE_MODEL";
    public const string GpuIndicesVariable = "CONTROLPLANE_GPU_INDICES";
    public const string CudaVisibleDevicesVariable = "CUDA_VISIBLE_DEVICES";
    public const string SharedPriorityVariable = "CONTROLPLANE_SHARED_PRIORITY";

    /// <summary>The wake command's only addition to the engine's variables: the id of the replica the woken engine serves now.</summary>
    public const string WakeReplicaIdVariable = "CONTROLPLANE_WAKE_REPLICA_ID";

    public bool CanSleep => options.CanSleep;

    public IReplica Start(ReplicaSpec spec) => CommandReplica.Start(spec, options, log, time);

    /// <summary>
    /// The variables every command of the replica (start, ready, stop) sees; <see cref="SharedPriorityVariable"/> only
    /// on a replica that may serve shared requests (start the engine with request priorities then).
    /// </summary>
    public static IReadOnlyDictionary<string, string> EnvironmentOf(ReplicaSpec spec)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ReplicaIdVariable] = spec.ReplicaId,
            [DeploymentIdVariable] = spec.DeploymentId,
            [ModelVariable] = spec.Model,
            [GpuIndicesVariable] = spec.GpuList,
            [CudaVisibleDevicesVariable] = spec.GpuList,
        };
        if (spec.SharedRequestPriority is { } priority)
        {
            environment[SharedPriorityVariable] = priority;
        }

        return environment;
    }
}

/// <summary>
/// One replica's start command, watched: <c>starting</c> until it is ready (its ready command exits 0, or at once
/// without one), <c>failed</c> if it exits without being asked to. Stopping runs the stop command or sends SIGTERM,
/// waits up to <see cref="CommandRuntimeOptions.StopTimeout"/> for the start command and everything in its process
/// group to end, then kills whatever is left.
/// </summary>
internal sealed class CommandReplica : IReplica
{
    // How long a process may take to die after SIGKILL; only a process stuck in the kernel (a hung GPU driver) takes longer.
    private static readonly TimeSpan KillTimeout = TimeSpan.FromSeconds(5);

    // How often a stop looks whether the start command's process group has emptied.
    private static readonly TimeSpan GroupPollInterval = TimeSpan.FromMilliseconds(100);

    private readonly CommandRuntimeOptions _options;
    private readonly AgentLog _log;
    private readonly TimeProvider _time;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly CancellationTokenSource _probing = new();
    private readonly Lock _gate = new();
    private Process? _process;
    private bool _ownProcessGroup;
    private Task _watched = Task.CompletedTask;
    private ReplicaStatus _status = ReplicaStatus.Starting;
    private bool _exited;
    private Task? _stopped;

    private CommandReplica(ReplicaSpec spec, CommandRuntimeOptions options, AgentLog log, TimeProvider time)
    {
        Spec = spec;
        _options = options;
        _log = log;
        _time = time;
        _environment = CommandReplicaRuntime.EnvironmentOf(spec);
    }

    public ReplicaSpec Spec { get; }

    public ReplicaStatus Status
    {
        get
        {
            lock (_gate)
            {
                return _status;
            }
        }
    }

    public static CommandReplica Start(ReplicaSpec spec, CommandRuntimeOptions options, AgentLog log, TimeProvider time)
    {
        var replica = new CommandReplica(spec, options, log, time);
        replica.Launch();
        return replica;
    }

    public Task StopAsync()
    {
        lock (_gate)
        {
            // Whichever comes first, this stop or the start command's own exit, deals with what is left of the replica.
            // Off the caller's thread: the heartbeat loop calls this, and a stop command or a signal takes a fork.
            var stillRunning = !_exited;
            return _stopped ??= Task.Run(() => StopCoreAsync(stillRunning));
        }
    }

    public Task<bool> SleepAsync()
    {
        lock (_gate)
        {
            if (_options.SleepCommand is not { } command || _stopped is not null || _exited)
            {
                return Task.FromResult(false);
            }

            // Off the caller's thread, as a stop is: the command takes a fork.
            return Task.Run(() => RunToEndAsync(command, _environment, _options.SleepTimeout, "sleep", CancellationToken.None));
        }
    }

    /// <summary>
    /// Wakes this sleeping engine for <paramref name="spec"/> with the wake command. Its commands still see the variables the
    /// engine was started with (<see cref="ReplicaIdVariable"/> the first replica's id: that is how a command finds the
    /// engine); the wake command also sees <see cref="CommandReplicaRuntime.WakeReplicaIdVariable"/>.
    /// </summary>
    public IReplica Wake(ReplicaSpec spec) =>
        new WokenReplica(this, spec, stopping => RunAsync(
            _options.WakeCommand!,
            new Dictionary<string, string>(_environment, StringComparer.Ordinal) { [CommandReplicaRuntime.WakeReplicaIdVariable] = spec.ReplicaId },
            _options.WakeTimeout,
            "wake",
            stopping));

    /// <summary>
    /// Runs one of the replica's commands (sleep, wake) to its end: null when it exited 0, else why not (its exit code,
    /// its timeout, or a shell that could not start); <paramref name="stopping"/> kills it quietly.
    /// </summary>
    private async Task<string?> RunAsync(string command, IReadOnlyDictionary<string, string> environment, TimeSpan timeout, string name, CancellationToken stopping)
    {
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, stopping);
        try
        {
            var exitCode = await ShellCommand.RunAsync(command, environment, discardOutput: false, either.Token);
            return exitCode == 0 ? null : $"{name} command exited with code {exitCode}";
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            return $"{name} command did not finish within {timeout.TotalSeconds:0.###} s and was killed";
        }
        catch (Win32Exception e)
        {
            return $"cannot run the {name} command: {e.Message}";
        }
    }

    private async Task<bool> RunToEndAsync(string command, IReadOnlyDictionary<string, string> environment, TimeSpan timeout, string name, CancellationToken stopping)
    {
        if (await RunAsync(command, environment, timeout, name, stopping) is { } problem)
        {
            _log.Warn($"replica {Spec.ReplicaId}: {problem}");
            return false;
        }

        return true;
    }

    private void Launch()
    {
        try
        {
            _process = ShellCommand.Start(_options.StartCommand, _environment, ownProcessGroup: true, discardOutput: false);
            _ownProcessGroup = ShellCommand.HasProcessGroups;
        }
        catch (Win32Exception e)
        {
            SetStatus(ReplicaStatus.Failed($"cannot run the start command: {e.Message}"));
            return;
        }

        if (_options.ReadyCommand is null)
        {
            SetStatus(ReplicaStatus.Ready);
        }

        _watched = WatchAsync(_process);
    }

    private async Task WatchAsync(Process process)
    {
        var exited = process.WaitForExitAsync();
        if (_options.ReadyCommand is { } readyCommand)
        {
            try
            {
                await ProbeUntilReadyAsync(readyCommand, exited, _probing.Token);
            }
            catch (OperationCanceledException) when (_probing.IsCancellationRequested)
            {
                // Stopping.
            }
        }

        await exited;
        lock (_gate)
        {
            _exited = true;
            if (_stopped is not null)
            {
                return;
            }

            // Whatever its exit code: a start command stays in the foreground for as long as its replica runs.
            _status = ReplicaStatus.Failed($"start command exited with code {process.ExitCode}");
        }

        // Anything it left in its process group would hold GPU memory that the server thinks is free. Now, while
        // the group id cannot have been reused yet.
        if (_ownProcessGroup)
        {
            await ShellCommand.SignalAsync(process.Id, processGroup: true, "KILL");
        }
    }

    private async Task ProbeUntilReadyAsync(string readyCommand, Task exited, CancellationToken stopping)
    {
        var firstFailure = true;
        while (!exited.IsCompleted)
        {
            string? notReady;
            using (var timeout = new CancellationTokenSource(_options.ReadyTimeout, _time))
            using (var probe = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token))
            {
                try
                {
                    var exitCode = await ShellCommand.RunAsync(readyCommand, _environment, discardOutput: true, probe.Token);
                    if (exitCode == 0)
                    {
                        SetStatus(ReplicaStatus.Ready);
                        return;
                    }

                    notReady = $"ready command exited with code {exitCode}";
                }
                catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                {
                    notReady = $"ready command did not finish within {_options.ReadyTimeout.TotalSeconds:0.###} s and was killed";
                }
                catch (Win32Exception e)
                {
                    notReady = $"cannot run the ready command: {e.Message}";
                }
            }

            // A model takes minutes to load: say once why the replica is not ready, not every few seconds.
            if (firstFailure)
            {
                _log.Info($"replica {Spec.ReplicaId} not ready yet: {notReady}; trying every {_options.ReadyInterval.TotalSeconds:0.###} s");
                firstFailure = false;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            await Task.WhenAny(exited, Task.Delay(_options.ReadyInterval, _time, wait.Token));
            stopping.ThrowIfCancellationRequested();
            await wait.CancelAsync();
        }
    }

    /// <param name="stillRunning">The start command had not been seen to exit when the stop began.</param>
    private async Task StopCoreAsync(bool stillRunning)
    {
        await _probing.CancelAsync();
        if (_process is not { } process)
        {
            return;
        }

        using (var deadline = new CancellationTokenSource(_options.StopTimeout, _time))
        {
            // A stop command runs even for a replica that exited: it may have a container or a lock file to clean up.
            if (_options.StopCommand is { } stopCommand)
            {
                await RunStopCommandAsync(stopCommand, deadline.Token);
            }
            else if (stillRunning)
            {
                await ShellCommand.SignalAsync(process.Id, _ownProcessGroup, "TERM");
            }

            // A shell running a compound command exits on SIGTERM at once, while the engine it started still shuts
            // down: the stop waits for the whole group, not only for the shell.
            if (!stillRunning || await EndedAsync(process, deadline.Token))
            {
                await _watched;
                return;
            }
        }

        _log.Warn($"replica {Spec.ReplicaId} did not stop within {_options.StopTimeout.TotalSeconds:0.###} s; killing it");
        if (_ownProcessGroup)
        {
            await ShellCommand.SignalAsync(process.Id, processGroup: true, "KILL");
        }

        ShellCommand.KillTree(process);
        try
        {
            await process.WaitForExitAsync().WaitAsync(KillTimeout);
        }
        catch (TimeoutException)
        {
            _log.Error($"replica {Spec.ReplicaId} (pid {process.Id}) still runs {KillTimeout.TotalSeconds:0} s after SIGKILL; is the GPU driver hung?");
        }

        await _watched;
    }

    /// <summary>Waits for the start command, and then for every process in its group, to end; false when the deadline came first.</summary>
    private async Task<bool> EndedAsync(Process process, CancellationToken deadline)
    {
        try
        {
            await process.WaitForExitAsync(deadline);
            while (_ownProcessGroup && ShellCommand.ProcessGroupIsAlive(process.Id))
            {
                await Task.Delay(GroupPollInterval, _time, deadline);
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task RunStopCommandAsync(string stopCommand, CancellationToken deadline)
    {
        try
        {
            var exitCode = await ShellCommand.RunAsync(stopCommand, _environment, discardOutput: false, deadline);
            if (exitCode != 0)
            {
                _log.Warn($"replica {Spec.ReplicaId}: stop command exited with code {exitCode}");
            }
        }
        catch (OperationCanceledException)
        {
            _log.Warn($"replica {Spec.ReplicaId}: stop command did not finish within {_options.StopTimeout.TotalSeconds:0.###} s and was killed");
        }
        catch (Win32Exception e)
        {
            _log.Error($"replica {Spec.ReplicaId}: cannot run the stop command: {e.Message}");
        }
    }

    private void SetStatus(ReplicaStatus status)
    {
        lock (_gate)
        {
            // Failed is final, and a replica being stopped keeps the state it had: its end is not a failure.
            if (_stopped is null && _status.State != ReplicaState.Failed)
            {
                _status = status;
            }
        }
    }
}
