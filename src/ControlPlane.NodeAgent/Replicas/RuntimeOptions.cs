namespace ControlPlane.NodeAgent.Replicas;

/// <summary>Which runtime runs the node's replicas (<c>--runtime</c>), and its settings.</summary>
internal abstract record RuntimeOptions
{
    /// <param name="onModelLoaded">Told the model of each replica a simulated runtime loads (its weights are then warm); null for none.</param>
    public abstract IReplicaRuntime CreateRuntime(AgentLog log, TimeProvider time, Action<string>? onModelLoaded = null);

    /// <summary>One line for the agent's start-up log.</summary>
    public abstract string Describe();
}

/// <summary><c>--runtime simulated</c>: nothing runs; each replica turns ready after <paramref name="LoadTime"/>.</summary>
/// <param name="LoadTime">How long a pretend model takes to load (<c>--load-seconds</c>); zero is ready at once.</param>
internal sealed record SimulatedRuntimeOptions(TimeSpan LoadTime) : RuntimeOptions
{
    public const int DefaultLoadSeconds = 5;

    /// <value>5 s: long enough to see <c>starting</c> in a heartbeat or two.</value>
    public static readonly TimeSpan DefaultLoadTime = TimeSpan.FromSeconds(DefaultLoadSeconds);

    public const int DefaultWakeSeconds = 1;

    /// <value>1 s: a real engine wakes in seconds where it loads in minutes; the simulated load (5 s by default) is short
    /// already, so the wake is shorter still.</value>
    public static readonly TimeSpan DefaultWakeTime = TimeSpan.FromSeconds(DefaultWakeSeconds);

    /// <summary>How long a sleeping replica takes to wake (<c>--simulated-wake-seconds</c>); it falls asleep at once.</summary>
    public TimeSpan WakeTime { get; init; } = DefaultWakeTime;

    public override IReplicaRuntime CreateRuntime(AgentLog log, TimeProvider time, Action<string>? onModelLoaded = null) =>
        new SimulatedReplicaRuntime(LoadTime, time, onModelLoaded, WakeTime);

    public override string Describe() =>
        $"simulated (nothing is started; replicas report ready {LoadTime.TotalSeconds:0.###} s after the server asks for them, and wake in {WakeTime.TotalSeconds:0.###} s)";
}

/// <summary><c>--runtime command</c>: each replica is a shell command, e.g. an inference engine in the foreground.</summary>
/// <param name="StartCommand">Run by <c>/bin/sh -c</c> per replica; stays in the foreground for as long as the replica runs.</param>
/// <param name="StopCommand">Run to stop a replica; <see langword="null"/> sends SIGTERM to the start command's process group.</param>
/// <param name="ReadyCommand">Run every <see cref="ReadyInterval"/> until it exits 0; <see langword="null"/> means ready once started.</param>
internal sealed record CommandRuntimeOptions(string StartCommand, string? StopCommand, string? ReadyCommand) : RuntimeOptions
{
    public const int DefaultReadyIntervalSeconds = 2;
    public const int DefaultStopTimeoutSeconds = 10;
    public const int DefaultSleepTimeoutSeconds = 60;
    public const int DefaultWakeTimeoutSeconds = 300;

    /// <summary>
    /// Run to put a ready replica's engine to sleep (e.g. <c>curl -X POST localhost:$PORT/sleep</c>): it exits 0 once the
    /// engine sleeps. Null: replicas cannot sleep (with <see cref="WakeCommand"/>, both or neither).
    /// </summary>
    public string? SleepCommand { get; init; }

    /// <summary>Run to wake a sleeping engine for a new replica; it exits 0 once the engine serves again.</summary>
    public string? WakeCommand { get; init; }

    /// <summary>How long the sleep command may take before it is killed and the engine is stopped instead.</summary>
    /// <value>60 s: offloading weights to host memory takes seconds.</value>
    public TimeSpan SleepTimeout { get; init; } = TimeSpan.FromSeconds(DefaultSleepTimeoutSeconds);

    /// <summary>How long the wake command may take before it is killed and the replica reported failed.</summary>
    /// <value>300 s: copying back the weights of the largest models over PCIe must fit, with room to spare.</value>
    public TimeSpan WakeTimeout { get; init; } = TimeSpan.FromSeconds(DefaultWakeTimeoutSeconds);

    /// <summary>Both a sleep and a wake command are given.</summary>
    public bool CanSleep => SleepCommand is not null && WakeCommand is not null;

    public static readonly TimeSpan DefaultReadyInterval = TimeSpan.FromSeconds(DefaultReadyIntervalSeconds);
    public static readonly TimeSpan DefaultReadyTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(DefaultStopTimeoutSeconds);

    /// <summary>How often the ready command runs while a replica starts.</summary>
    /// <value>2 s.</value>
    public TimeSpan ReadyInterval { get; init; } = DefaultReadyInterval;

    /// <summary>How long one run of the ready command may take before it is killed and counts as "not ready".</summary>
    /// <value>10 s: a health check that hangs (curl without a timeout) must not stall the probing.</value>
    public TimeSpan ReadyTimeout { get; init; } = DefaultReadyTimeout;

    /// <summary>How long a stopped replica gets, stop command included, before everything left of it is killed.</summary>
    /// <value>10 s, so that stopping every replica fits in the 30 s systemd and Kubernetes give the agent to exit.</value>
    public TimeSpan StopTimeout { get; init; } = DefaultStopTimeout;

    // A real engine fills its own caches; only a prefetch (or a tool writing the marker) makes a model warm.
    public override IReplicaRuntime CreateRuntime(AgentLog log, TimeProvider time, Action<string>? onModelLoaded = null) =>
        new CommandReplicaRuntime(this, log, time);

    public override string Describe() =>
        $"command (start: {StartCommand}; ready: {ReadyCommand ?? "as soon as started"}; stop: {StopCommand ?? "SIGTERM"}"
        + (CanSleep ? $"; sleep: {SleepCommand}; wake: {WakeCommand})" : ")");
}
