using ControlPlane.NodeAgent;
using ControlPlane.NodeAgent.Heartbeats;
using ControlPlane.NodeAgent.Models;
using ControlPlane.NodeAgent.Replicas;
using ControlPlane.Simulator.Fleet;

namespace ControlPlane.Simulator.Live;

/// <summary>
/// One real node agent loop (<see cref="HeartbeatLoop"/>) per simulated node, all in this process, each
/// reading its GPUs from a <see cref="SimulatedGpuReader"/> and running its replicas on a
/// <see cref="SimulatedReplicaRuntime"/>. A node can be crashed (its loop cancelled, its replicas gone with it)
/// and restarted (a new loop with a new agent session and no replicas, as a restarted agent process would).
/// With a model cache root, each node reports a model cache of its own (<c>--model-cache</c>, a directory per node
/// that outlives a crash, as a disk would), a loaded replica's weights stay warm there, and the scheduler's prefetch
/// lists are carried out by the simulated fetcher (<c>--runtime simulated</c>), and a dedicated replica the server no longer
/// wants sleeps on its node (a 512 GiB budget) until a rise wakes it there.
/// </summary>
internal sealed class LiveFleet : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _server;
    private readonly TextWriter _output;
    private readonly TimeSpan _replicaLoadTime;
    private readonly SimulatedNode[] _nodes;
    private readonly string? _modelCacheRoot;

    /// <summary>
    /// Each simulated node's sleep budget, as <c>--sleep-budget-gb 512</c> would set it: host memory of a large GPU machine. The
    /// simulated caches hold markers, not weights (0 bytes), so it never binds here.
    /// </summary>
    private const long SleepBudgetBytes = 512L << 30;

    /// <param name="replicaLoadTime">How long a simulated replica takes to turn ready; <see cref="SimulatedRuntimeOptions.DefaultLoadTime"/> when not given.</param>
    /// <param name="modelCacheRoot">Where each node's model cache directory goes (one per node id); null: no caches.</param>
    public LiveFleet(Uri server, IReadOnlyList<(NodeSpec Spec, string Token)> nodes, int seed, TextWriter output, TimeSpan? replicaLoadTime = null, string? modelCacheRoot = null)
    {
        _server = server;
        _modelCacheRoot = modelCacheRoot;
        _replicaLoadTime = replicaLoadTime ?? SimulatedRuntimeOptions.DefaultLoadTime;
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = HeartbeatClient.DefaultRequestTimeout,
        };

        _output = output;
        _nodes = nodes.Select((n, i) => new SimulatedNode(n.Spec, n.Token, new SimulatedGpuReader(n.Spec.Gpu, n.Spec.GpuCount, unchecked((seed * 7919) + i)))).ToArray();
        Nodes = _nodes.Select(n => n.Spec).ToArray();
    }

    public IReadOnlyList<NodeSpec> Nodes { get; }

    public void StartAll()
    {
        for (var i = 0; i < _nodes.Length; i++)
        {
            Start(i);
        }
    }

    /// <summary>Starts the node's agent loop with a new session, unless it runs.</summary>
    public void Start(int index)
    {
        var node = _nodes[index];
        if (node.Loop is not null)
        {
            return;
        }

        var client = new HeartbeatClient(_http, _server, node.Spec.NodeId, node.Token);

        // The agents' errors are worth seeing (a rejected token, nvidia-smi failing); their routine lines are not.
        var log = new AgentLog(new AgentErrorWriter(_output, $"[agent {node.Spec.NodeId}] "), TimeProvider.System);
        var models = ModelCacheFor(node.Spec.NodeId, log);
        // With a model cache, a dedicated replica no longer desired sleeps (--sleep-budget-gb) and a rise wakes it.
        var sleep = models is null ? null : new SleepPolicy(SleepBudgetBytes, models.WeightBytes);
        var replicas = new ReplicaSupervisor(new SimulatedReplicaRuntime(_replicaLoadTime, TimeProvider.System, models is null ? null : models.MarkWarm), log, TimeProvider.System, sleep);
        var loop = new HeartbeatLoop(client, node.Reader, replicas, log, TimeProvider.System, new Backoff(), Guid.NewGuid(), AgentVersion.Current, models);
        var stopping = new CancellationTokenSource();
        node.Loop = (Task.Run(() => loop.RunAsync(stopping.Token)), stopping, models);
    }

    /// <summary>The node's model cache, as the agent's <c>--model-cache DIR --runtime simulated</c> makes it; null without a root.</summary>
    private ModelCache? ModelCacheFor(string nodeId, AgentLog log)
    {
        if (_modelCacheRoot is null)
        {
            return null;
        }

        var directory = Path.Combine(_modelCacheRoot, nodeId);
        Directory.CreateDirectory(directory);
        return new ModelCacheOptions(directory, PrefetchCommand: null, TimeSpan.FromSeconds(SimulatedModelFetcher.DefaultSeconds)).Create(log, TimeProvider.System);
    }

    /// <summary>Stops the node's agent loop as a crash would: no goodbye to the server.</summary>
    public async Task CrashAsync(int index)
    {
        var node = _nodes[index];
        if (node.Loop is not { } running)
        {
            return;
        }

        node.Loop = null;
        var (task, stopping, models) = running;
        await stopping.CancelAsync();
        await task;
        if (models is not null)
        {
            // A prefetch in flight dies with the agent; what it had finished stays on the node's disk.
            await models.StopAsync();
        }

        stopping.Dispose();
    }

    public void FailGpuReader(int index) => _nodes[index].Reader.Fail();

    public void RecoverGpuReader(int index) => _nodes[index].Reader.Recover();

    public async Task StopAllAsync()
    {
        await Task.WhenAll(Enumerable.Range(0, _nodes.Length).Select(CrashAsync));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAllAsync();
        _http.Dispose();
    }

    private sealed class SimulatedNode(NodeSpec spec, string token, SimulatedGpuReader reader)
    {
        public NodeSpec Spec { get; } = spec;

        public string Token { get; } = token;

        public SimulatedGpuReader Reader { get; } = reader;

        public (Task Task, CancellationTokenSource Stopping, ModelCache? Models)? Loop { get; set; }
    }
}
