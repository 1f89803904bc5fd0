using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Commits;
using ControlPlane.Server.Tests.Deployments;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Cluster;

/// <summary>
/// A silo killed together with some GPU machines, on a real cluster: three server processes (Azure Table clustering on
/// Azurite, state in PostgreSQL) and a real node agent process per node that knows all three silos, at the agents' real
/// timing (5 s heartbeats: suspect after 10 s of silence, down after 20 s). One silo (not the scheduler's) is killed
/// with <c>kill -9</c> at the moment the agents of two nodes stop: one whose grain lived on the killed silo, one whose
/// grain lived on a silo that survives (Orleans deactivates it all the same when the killed silo held its directory
/// entry). Their replicas leave the gateway's routing answer once they have been silent for the suspect window, and the
/// node on a surviving silo goes down on time; the other nodes keep heartbeating (failing over from the killed silo)
/// and are never taken down.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SiloLossTests(PostgresFixture postgres, AzuriteFixture azurite)
{
    private const string OperatorToken = "silo-loss-operator-token";
    private const string Region = "loss-region";
    private const string DeploymentId = "loss-batch";
    private const int Nodes = 6;

    private static readonly TimeSpan SuspectAfter = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DownAfter = TimeSpan.FromSeconds(20);

    // How late an observation may come on a loaded machine: polls, reports and timers are a second or two apart.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task KillSiloWithSomeMachines_SilentReplicasLeaveRoutingAndNodesGoDownOnTime_OthersStayUp()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = TestContext.Current.TestOutputHelper;
        var db = await postgres.CreateDatabaseAsync("silo_loss", ct);
        var settings = ClusterSettings.For(db, azurite, "silo-loss", OperatorToken);
        // Times on the silos' lines, to read a failure by.
        settings["Logging:Console:FormatterOptions:TimestampFormat"] = "HH:mm:ss.fff ";

        await using var a = await ServerProcess.StartAsync(settings, ct: ct);
        await using var b = await ServerProcess.StartAsync(settings, ct: ct);
        await using var c = await ServerProcess.StartAsync(settings, ct: ct);
        ServerProcess[] silos = [a, b, c];

        var agents = new Dictionary<string, Process>(StringComparer.Ordinal);
        var agentLogs = new Dictionary<string, OutputLog>(StringComparer.Ordinal);
        try
        {
            // Nodes enrolled through each silo in turn (a node's grain usually lives where it was enrolled), each with a
            // real agent that lists all three silos.
            for (var i = 0; i < Nodes; i++)
            {
                using var enrolling = silos[i % 3].CreateOperatorClient();
                var (nodeId, token) = await enrolling.EnrollAsync($"loss-node-{i}", Region);
                agentLogs[nodeId] = new OutputLog();
                agents[nodeId] = AgentProcesses.Start(silos, nodeId, token, cache: null, loadSeconds: 0, agentLogs[nodeId]);
            }

            using var admin = a.CreateOperatorClient();
            foreach (var nodeId in agents.Keys)
            {
                await admin.WatchStatusUntilAsync(nodeId, "ready", TimeSpan.FromSeconds(60));
            }

            // One batch replica of 8 GPUs on every node.
            var gatewayToken = await admin.IssueTokenAsync("gateway", "loss-gateway");
            await LiquidCapacityTests.CreateAsync(admin, new
            {
                deploymentId = DeploymentId, model = "loss-model", @class = "batch", gpusPerReplica = 8, minGpuMemoryGiB = 80,
                regions = new[] { Region }, minReplicas = 0, reservedReplicas = 0, maxReplicas = Nodes, tokensPerSecondPerReplica = 1_000,
            });
            using (var gateway = a.CreateClient(gatewayToken))
            {
                await LiquidCapacityTests.DemandAsync(gateway, DeploymentId, 1_000);
                await Poll.UntilAsync(() => RoutedNodesAsync(gateway), routed => routed?.Count == Nodes, TimeSpan.FromSeconds(60), $"{Nodes} routable replicas");
            }

            // Where the grains live: each logs its enrollment, and the scheduler its activation, on its silo.
            var scheduler = silos.Single(s => s.Output.Contains("Scheduler active:", StringComparison.Ordinal));
            ServerProcess? HostOf(string nodeId) => silos.SingleOrDefault(s => s.Output.Contains($"Node {nodeId} enrolled", StringComparison.Ordinal));
            var victim = silos.Where(s => s != scheduler).MaxBy(s => agents.Keys.Count(n => HostOf(n) == s))!;
            var survivors = silos.Where(s => s != victim).ToArray();
            var lost = agents.Keys.FirstOrDefault(n => HostOf(n) == victim);
            var moved = agents.Keys.FirstOrDefault(n => HostOf(n) is { } host && host != victim);
            Assert.True(lost is not null && moved is not null, $"node grains per silo: {string.Join(", ", silos.Select(s => agents.Keys.Count(n => HostOf(n) == s)))}; the silo to kill holds none, or all");
            var talking = agents.Keys.Where(n => n != lost && n != moved).ToArray();

            var observers = survivors.Select(s => s.CreateOperatorClient()).ToArray();
            var gateways = survivors.Select(s => s.CreateClient(gatewayToken)).ToArray();
            foreach (var client in observers.Concat(gateways))
            {
                client.Timeout = TimeSpan.FromSeconds(3);
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var clock = new Stopwatch();
            var watch = new Watch(agents.Keys);
            watch.Start();
            var watching = Task.Run(() => WatchAsync(observers, gateways, agents.Keys.ToArray(), clock, watch, stop.Token), ct);

            // The machines of two nodes and one silo die together.
            agents[lost].Kill(entireProcessTree: true);
            agents[moved].Kill(entireProcessTree: true);
            clock.Start();
            var killedAt = DateTime.Now;
            await victim.KillAsync();

            await Poll.UntilAsync(
                () => Task.FromResult(watch.FirstSeen(lost, "down") is not null && watch.FirstSeen(moved, "down") is not null
                    && watch.FirstUnrouted(lost) > watch.LastRouted(lost) && watch.FirstUnrouted(moved) > watch.LastRouted(moved)),
                done => done,
                TimeSpan.FromSeconds(90),
                $"{lost} and {moved} to be down and out of routing");
            // A little longer, so that the nodes still heartbeating have had every chance to be called down.
            await Task.Delay(TimeSpan.FromSeconds(5), ct);
            await stop.CancelAsync();
            await watching;
            foreach (var client in observers.Concat(gateways))
            {
                client.Dispose();
            }

            string Seen(string nodeId) =>
                $"last routed at {watch.LastRouted(nodeId)?.TotalSeconds:0.0} s, last up at {watch.LastSeenUp(nodeId)?.TotalSeconds:0.0} s, " +
                $"statuses {string.Join("/", watch.StatusesOf(nodeId))}";
            output?.WriteLine(
                $"killed at {killedAt:HH:mm:ss.fff}: silo {victim.BaseAddress} (node grains: {string.Join(", ", agents.Keys.Where(n => HostOf(n) == victim))}), " +
                $"scheduler on {scheduler.BaseAddress}; {lost} (grain lost with the silo): {Seen(lost)}; {moved} (grain on a survivor): {Seen(moved)}; " +
                $"others: {string.Join("; ", talking.Select(n => $"{n} {Seen(n)}"))}");

            // The times are from the kill; the stopped agents' last heartbeats came up to an interval before it. What
            // the control plane answered is what counts: while the cluster has not declared the silo dead some calls
            // fail (a 503), and a gateway that gets no answer routes nothing to a dead machine either.

            // Replicas of silent machines are no longer routed to once they have been silent for the suspect window,
            // whatever became of their grains (it was 49-62 s for a grain lost with its silo).
            Assert.True(watch.LastRouted(lost) <= SuspectAfter + Slack, $"{lost}'s replica was routed to until {watch.LastRouted(lost)?.TotalSeconds:0.0} s");
            Assert.True(watch.LastRouted(moved) <= SuspectAfter + Slack, $"{moved}'s replica was routed to until {watch.LastRouted(moved)?.TotalSeconds:0.0} s");

            // A node whose grain lived on a surviving silo is down 20 s after its last heartbeat, also when Orleans
            // deactivated the grain because the killed silo held its directory entry (that made it 33-39 s). One whose
            // grain died with the silo is down once the cluster has declared the silo dead and a live agent would have
            // reached the grain again (a grace of the suspect window).
            Assert.True(watch.LastSeenUp(moved) <= DownAfter + Slack, $"{moved} was still up at {watch.LastSeenUp(moved)?.TotalSeconds:0.0} s");
            Assert.True(watch.LastSeenUp(lost) <= TimeSpan.FromSeconds(60), $"{lost} was still up at {watch.LastSeenUp(lost)?.TotalSeconds:0.0} s");

            // The machines that keep running are never taken down: their agents fail over from the killed silo.
            foreach (var nodeId in talking)
            {
                Assert.DoesNotContain("down", watch.StatusesOf(nodeId));
            }
        }
        catch
        {
            foreach (var silo in silos)
            {
                output?.WriteLine($"--- silo {silo.BaseAddress}:{Environment.NewLine}{ServerProcess.Tail(silo.Output, 60)}");
            }

            foreach (var (nodeId, log) in agentLogs)
            {
                output?.WriteLine($"--- agent {nodeId}:{Environment.NewLine}{ServerProcess.Tail(log.ToString(), 15)}");
            }

            throw;
        }
        finally
        {
            foreach (var agent in agents.Values)
            {
                if (!agent.HasExited)
                {
                    agent.Kill(entireProcessTree: true);
                }

                await agent.WaitForExitAsync(CancellationToken.None);
                agent.Dispose();
            }
        }
    }

    /// <summary>The nodes of the deployment's routable replicas (its <c>endpoints</c>), or null when the answer was not a 200.</summary>
    private static async Task<HashSet<string>?> RoutedNodesAsync(HttpClient gateway)
    {
        try
        {
            using var response = await gateway.GetAsync($"/gateway/v1/deployments/{DeploymentId}/endpoints");
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return null;
            }

            var endpoints = (await response.Content.ReadFromJsonAsync<JsonNode>())!["endpoints"]!.AsArray();
            return endpoints.Select(e => e!["nodeId"]!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// Polls each node's status and the routing answer through every surviving silo, noting when each changed. Each
    /// node on its own, and through each silo: until the cluster declares the killed silo dead, a call that needs its
    /// part of the grain directory waits, and must not hide what the other calls see.
    /// </summary>
    private static async Task WatchAsync(HttpClient[] admins, HttpClient[] gateways, string[] nodeIds, Stopwatch clock, Watch watch, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var statuses = nodeIds.SelectMany(nodeId => admins.Select(admin => (nodeId, admin))).Select(async poll =>
            {
                var (nodeId, admin) = poll;
                try
                {
                    using var response = await admin.GetAsync($"/admin/v1/nodes/{nodeId}", ct);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        watch.Saw(nodeId, (await response.Content.ReadFromJsonAsync<JsonNode>(ct))!["status"]!.GetValue<string>(), clock.Elapsed);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    // A call that met the dead silo before the cluster declared it dead: poll again.
                }
            });
            var routing = gateways.Select(async gateway =>
            {
                if (await RoutedNodesAsync(gateway) is { } routed)
                {
                    watch.Routed(routed, clock.Elapsed);
                }
            });
            try
            {
                await Task.WhenAll([.. statuses, .. routing]);
                await Task.Delay(250, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>
    /// What the watcher saw in the answers it got: each node's statuses in order, when each status first showed and when
    /// the node was last seen up (ready or suspect); when each node was last routed to, and first left out of routing.
    /// </summary>
    private sealed class Watch(IEnumerable<string> routedBefore)
    {
        private readonly ConcurrentDictionary<string, List<string>> _statuses = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<(string, string), TimeSpan> _firstStatus = new();
        private readonly ConcurrentDictionary<string, TimeSpan> _lastUp = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, TimeSpan> _firstUnrouted = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, TimeSpan> _lastRouted = new(StringComparer.Ordinal);
        private readonly HashSet<string> _routedBefore = routedBefore.ToHashSet(StringComparer.Ordinal);

        public void Start()
        {
            foreach (var nodeId in _routedBefore)
            {
                _lastRouted[nodeId] = TimeSpan.Zero;
                _lastUp[nodeId] = TimeSpan.Zero;
            }
        }

        public void Saw(string nodeId, string status, TimeSpan at)
        {
            var seen = _statuses.GetOrAdd(nodeId, _ => []);
            lock (seen)
            {
                if (seen.Count == 0 || seen[^1] != status)
                {
                    seen.Add(status);
                }
            }

            _firstStatus.TryAdd((nodeId, status), at);
            if (status != "down")
            {
                _lastUp.AddOrUpdate(nodeId, at, (_, known) => at > known ? at : known);
            }
        }

        public void Routed(HashSet<string> routed, TimeSpan at)
        {
            foreach (var nodeId in _routedBefore)
            {
                if (routed.Contains(nodeId))
                {
                    _lastRouted.AddOrUpdate(nodeId, at, (_, known) => at > known ? at : known);
                }
                else
                {
                    _firstUnrouted.AddOrUpdate(nodeId, at, (_, known) => known > _lastRouted.GetValueOrDefault(nodeId, TimeSpan.MinValue) ? known : at);
                }
            }
        }

        public IReadOnlyList<string> StatusesOf(string nodeId)
        {
            var seen = _statuses.GetValueOrDefault(nodeId) ?? [];
            lock (seen)
            {
                return [.. seen];
            }
        }

        public TimeSpan? FirstSeen(string nodeId, string status) => _firstStatus.TryGetValue((nodeId, status), out var at) ? at : null;

        /// <summary>When the node was first left out of routing after it was last routed to.</summary>
        public TimeSpan? FirstUnrouted(string nodeId) => _firstUnrouted.TryGetValue(nodeId, out var at) ? at : null;

        public TimeSpan? LastRouted(string nodeId) => _lastRouted.TryGetValue(nodeId, out var at) ? at : null;

        public TimeSpan? LastSeenUp(string nodeId) => _lastUp.TryGetValue(nodeId, out var at) ? at : null;
    }
}
