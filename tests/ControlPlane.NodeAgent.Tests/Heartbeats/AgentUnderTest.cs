using ControlPlane.NodeAgent.Gpus;
using ControlPlane.NodeAgent.Heartbeats;
using ControlPlane.NodeAgent.Replicas;
using ControlPlane.NodeAgent.Tests.Support;

namespace ControlPlane.NodeAgent.Tests.Heartbeats;

/// <summary>
/// A <see cref="HeartbeatLoop"/> running against a server (or a list of them, starting with the first), on a step clock, with jitter off. Its replicas run on a
/// <see cref="SimulatedReplicaRuntime"/> (load time <see cref="LoadTime"/>) with a step clock of their own, so that
/// load timers and heartbeat delays do not mix.
/// </summary>
internal sealed class AgentUnderTest : IAsyncDisposable
{
    public const string NodeId = "node-a";
    public const string Token = "secret-token";
    public const string Version = "1.2.3-test";

    public static readonly TimeSpan LoadTime = TimeSpan.FromSeconds(20);

    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stopping = new();

    private AgentUnderTest(IReadOnlyList<Uri> servers, IGpuReader gpus, TimeSpan requestTimeout, string? livenessFile, (string File, string? JoinToken)? tokenFile = null)
    {
        _http = new HttpClient { Timeout = requestTimeout };
        var client = new HeartbeatClient(_http, servers, NodeId, Token);
        var backoff = new Backoff(jitter: () => 0);
        var log = new AgentLog(Log, Time);
        Replicas = new ReplicaSupervisor(new SimulatedReplicaRuntime(LoadTime, ReplicaTime), log, ReplicaTime);
        var liveness = livenessFile is null ? null : new LivenessFile(livenessFile, Time, log);
        var identity = tokenFile is { } kept ? new NodeIdentity(_http, servers, NodeId, kept.File, kept.JoinToken, log, Time) : null;
        var loop = new HeartbeatLoop(client, gpus, Replicas, log, Time, backoff, SessionId, Version, liveness: liveness, identity: identity);
        Running = loop.RunAsync(_stopping.Token);
    }

    public StepTimeProvider Time { get; } = new();

    /// <summary>The replica runtime's clock: each simulated replica's load timer shows up here.</summary>
    public StepTimeProvider ReplicaTime { get; } = new();

    public LogCapture Log { get; } = new();

    public Guid SessionId { get; } = Guid.NewGuid();

    public ReplicaSupervisor Replicas { get; }

    public Task Running { get; }

    public static AgentUnderTest Start(Uri server, IGpuReader? gpus = null, TimeSpan? requestTimeout = null, string? livenessFile = null) =>
        Start([server], gpus, requestTimeout, livenessFile);

    public static AgentUnderTest Start(IReadOnlyList<Uri> servers, IGpuReader? gpus = null, TimeSpan? requestTimeout = null, string? livenessFile = null) =>
        new(servers, gpus ?? new ScriptedGpuReader(GpuReading.Success(H200Gpus())), requestTimeout ?? TimeSpan.FromSeconds(10), livenessFile);

    /// <summary>An agent that started with <see cref="Token"/> read from <paramref name="tokenFile"/>, and may enrol again with <paramref name="joinToken"/>.</summary>
    public static AgentUnderTest StartWithTokenFile(Uri server, string tokenFile, string? joinToken) =>
        new([server], new ScriptedGpuReader(GpuReading.Success(H200Gpus())), TimeSpan.FromSeconds(10), null, (tokenFile, joinToken));

    public static IReadOnlyList<GpuReport> H200Gpus() => NvidiaSmiParser.Parse(Fixtures.Read(Fixtures.H200Csv));

    /// <summary>Waits for the loop's next delay, checks how long it asked for, and lets it pass.</summary>
    public async Task PassDelayAsync(TimeSpan expected)
    {
        var timer = await Time.NextTimerAsync();
        Assert.Equal(expected, timer.DueTime);
        timer.Fire();
    }

    public async Task StopAsync()
    {
        await _stopping.CancelAsync();
        await Running.WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (!Running.IsCompleted)
        {
            await StopAsync();
        }

        // As the agent's Program does: no replica (a real process, with a command runtime) outlives the test.
        await Replicas.StopAllAsync(TestDeadline.Value);

        _stopping.Dispose();
        _http.Dispose();
    }
}

/// <summary>Returns the readings given, one per call; the last one repeats.</summary>
internal sealed class ScriptedGpuReader(params GpuReading[] readings) : IGpuReader
{
    private int _calls;

    public Task<GpuReading> ReadAsync(CancellationToken cancellationToken)
    {
        var call = Interlocked.Increment(ref _calls);
        return Task.FromResult(readings[Math.Min(call, readings.Length) - 1]);
    }
}
