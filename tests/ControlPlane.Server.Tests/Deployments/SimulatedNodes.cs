using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Deployments;

/// <summary>
/// Node agents in the test process, each a heartbeat loop over HTTP like the real agent's simulated runtime: a
/// replica in the heartbeat reply's <c>desired</c> list is reported <c>starting</c>, then <c>ready</c> after the
/// load time; one that leaves the list is stopped. Every reply is checked: no GPU is ever given to two replicas.
/// </summary>
public sealed class SimulatedNodes : IAsyncDisposable
{
    private readonly ServerProcess _server;
    private readonly TimeSpan _loadTime;
    private readonly ConcurrentDictionary<string, Agent> _agents = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _violations = new();

    public SimulatedNodes(ServerProcess server, TimeSpan loadTime)
    {
        _server = server;
        _loadTime = loadTime;
    }

    /// <summary>Problems seen in heartbeat replies (a GPU under two replicas, an index outside the node).</summary>
    public IReadOnlyCollection<string> Violations => _violations;

    /// <summary>Enrolls nodes <c>{prefix}-0..count-1</c> with 8 H100s each and starts their agents.</summary>
    public async Task<string[]> StartAsync(HttpClient admin, string prefix, int count, string region, decimal cost = 24m, string ownership = "owned")
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var (nodeId, token) = await admin.EnrollAsync($"{prefix}-{i}", region, ownership, cost);
            var agent = new Agent(this, nodeId, _server.CreateClient(token));
            _agents[nodeId] = agent;
            agent.Start();
            ids.Add(nodeId);
        }

        // Placement considers ready nodes only: a test goes on once every node has heartbeated its GPUs.
        foreach (var id in ids)
        {
            await admin.WatchStatusUntilAsync(id, "ready", TimeSpan.FromSeconds(30));
        }

        return ids.ToArray();
    }

    /// <summary>Stops a node's agent as if the machine died: no more heartbeats.</summary>
    public async Task KillAsync(string nodeId)
    {
        if (_agents.TryRemove(nodeId, out var agent))
        {
            await agent.DisposeAsync();
        }
    }

    /// <summary>The replica ids a node's agent runs now.</summary>
    public IReadOnlyCollection<string> RunningOn(string nodeId) =>
        _agents.TryGetValue(nodeId, out var agent) ? agent.Running : [];

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents.Values)
        {
            await agent.DisposeAsync();
        }

        _agents.Clear();
    }

    private sealed class Agent(SimulatedNodes owner, string nodeId, HttpClient client) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentDictionary<string, DateTime> _started = new(StringComparer.Ordinal);
        private Task _loop = Task.CompletedTask;

        public IReadOnlyCollection<string> Running => _started.Keys.ToArray();

        public void Start() => _loop = RunAsync(_stop.Token);

        private async Task RunAsync(CancellationToken ct)
        {
            var sequence = 0L;
            var session = Guid.NewGuid().ToString("N");
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    var now = DateTime.UtcNow;
                    var replicas = _started
                        .Select(r => new { replicaId = r.Key, state = now - r.Value >= owner._loadTime ? "ready" : "starting" })
                        .ToArray();
                    using var response = await client.PostAsJsonAsync(
                        $"/agent/v1/nodes/{nodeId}/heartbeat",
                        new { sequence = ++sequence, agentSessionId = session, agentVersion = "test", gpus = ApiClient.Gpus(8), replicas },
                        ct);
                    if (response.IsSuccessStatusCode)
                    {
                        Apply(JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!["desired"]!.AsArray());
                    }

                    await Task.Delay(250, ct);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
                catch (HttpRequestException)
                {
                    // The server may be restarting; like the real agent, keep trying.
                }
            }
        }

        private void Apply(JsonArray desired)
        {
            var gpus = new Dictionary<int, string>();
            var wanted = new HashSet<string>(StringComparer.Ordinal);
            foreach (var replica in desired)
            {
                var id = replica!["replicaId"]!.GetValue<string>();
                wanted.Add(id);
                foreach (var gpu in replica["gpuIndices"]!.AsArray().Select(g => g!.GetValue<int>()))
                {
                    if (gpu is < 0 or >= 8)
                    {
                        owner._violations.Enqueue($"{nodeId}: GPU {gpu} of {id} is outside the node");
                    }
                    else if (!gpus.TryAdd(gpu, id))
                    {
                        owner._violations.Enqueue($"{nodeId}: GPU {gpu} given to {gpus[gpu]} and {id}");
                    }
                }

                _started.TryAdd(id, DateTime.UtcNow);
            }

            foreach (var id in _started.Keys.Where(id => !wanted.Contains(id)).ToArray())
            {
                _started.TryRemove(id, out _);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            client.Dispose();
            _stop.Dispose();
        }
    }
}
