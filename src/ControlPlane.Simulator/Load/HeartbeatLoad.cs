using System.Net.Http.Headers;
using System.Text.Json;
using ControlPlane.NodeAgent;
using ControlPlane.NodeAgent.Gpus;
using ControlPlane.NodeAgent.Heartbeats;
using ControlPlane.Simulator.Fleet;

namespace ControlPlane.Simulator.Load;

/// <summary>
/// The heartbeats of an enrolled simulated fleet, as HTTP requests: each node keeps its agent session and
/// its sequence number, and its GPUs as read once (a steady fleet, the common case: a heartbeat that
/// changes nothing writes nothing). The baseline request carries the very same body to a bare endpoint.
/// </summary>
internal sealed class HeartbeatLoad
{
    private static readonly MediaTypeHeaderValue Json = new("application/json") { CharSet = "utf-8" };

    private readonly LoadNode[] _nodes;
    private readonly int[] _cursor;
    private readonly int _workers;

    public HeartbeatLoad(Uri server, IReadOnlyList<(NodeSpec Spec, string Token)> nodes, int workers, int seed)
    {
        _nodes = nodes.Select((n, i) => new LoadNode(
            n.Spec,
            n.Token,
            new Uri(server, $"agent/v1/nodes/{Uri.EscapeDataString(n.Spec.NodeId)}/heartbeat"),
            new Uri(server, $"diagnostics/v1/echo/{Uri.EscapeDataString(n.Spec.NodeId)}"),
            Read(n.Spec, unchecked((seed * 7919) + i)))).ToArray();
        _workers = Math.Clamp(workers, 1, Math.Max(1, _nodes.Length));
        _cursor = new int[_workers];
    }

    /// <summary>Workers that have nodes of their own (at most one per node).</summary>
    public int Workers => _workers;

    public int Nodes => _nodes.Length;

    public int Gpus => _nodes.Sum(n => n.Spec.GpuCount);

    /// <summary>The next heartbeat of worker <paramref name="worker"/>'s next node: node i belongs to worker i mod workers, so one node's sequence numbers never race.</summary>
    public HttpRequestMessage NextHeartbeat(int worker) => Next(worker, baseline: false);

    /// <summary>The same body to the bare endpoint that calls one grain (<c>/diagnostics/v1/echo</c>).</summary>
    public HttpRequestMessage NextBaseline(int worker) => Next(worker, baseline: true);

    /// <summary>Node <paramref name="index"/>'s heartbeat, for the first heartbeat of each node (enrolment).</summary>
    public HttpRequestMessage Heartbeat(int index) => Request(_nodes[index], baseline: false);

    private HttpRequestMessage Next(int worker, bool baseline)
    {
        var slot = _cursor[worker]++;
        var perWorker = ((_nodes.Length - 1 - worker) / _workers) + 1;
        return Request(_nodes[worker + ((slot % perWorker) * _workers)], baseline);
    }

    private static HttpRequestMessage Request(LoadNode node, bool baseline)
    {
        // Each request takes the next sequence number, so a baseline phase between two heartbeat phases
        // leaves a gap, as a lost heartbeat would: the node accepts it.
        var sequence = Interlocked.Increment(ref node.Sequence);
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new HeartbeatRequest(sequence, node.SessionId, AgentVersion.Current, null, node.Gpus, []),
            AgentJsonContext.Default.HeartbeatRequest);
        var request = new HttpRequestMessage(HttpMethod.Post, baseline ? node.Baseline : node.Endpoint)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = Json } },
        };

        // The baseline ignores the token; it is sent all the same, so both requests are the same bytes.
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", node.Token);
        return request;
    }

    private static IReadOnlyList<GpuReport> Read(NodeSpec spec, int seed)
    {
        var reader = new Live.SimulatedGpuReader(spec.Gpu, spec.GpuCount, seed);
        return reader.ReadAsync(CancellationToken.None).GetAwaiter().GetResult().Gpus;
    }

    private sealed class LoadNode(NodeSpec spec, string token, Uri endpoint, Uri baseline, IReadOnlyList<GpuReport> gpus)
    {
        public long Sequence;

        public NodeSpec Spec { get; } = spec;

        public string Token { get; } = token;

        public Uri Endpoint { get; } = endpoint;

        public Uri Baseline { get; } = baseline;

        public IReadOnlyList<GpuReport> Gpus { get; } = gpus;

        public Guid SessionId { get; } = Guid.NewGuid();
    }
}
