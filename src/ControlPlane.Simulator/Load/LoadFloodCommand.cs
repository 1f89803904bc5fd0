using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Fleet;
using ControlPlane.Simulator.Live;

namespace ControlPlane.Simulator.Load;

/// <summary>
/// <c>load-flood</c>: what a flood from one caller does to everyone else. Victims (customers reading their invoices, a
/// gateway reporting demand and reading routes, nodes heartbeating) call a running control plane on a fixed schedule
/// throughout; phases alternate between idle (victims only) and a flood: one customer token asking for made-up
/// contracts, one gateway token reporting demand for made-up deployments, or forged tokens, from as many connections
/// as <c>--concurrency</c> as fast as the server answers. It prints the victims' latency in each phase against idle,
/// the flood's answers by status and, when the server maps its memory report, the grain activations the floods
/// caused. Every phase runs once unmeasured first (a warm-up of at most 3 s). Exit code 0 when every victim request was answered 2xx (a victim is never throttled), 1 otherwise.
/// </summary>
internal sealed class LoadFloodCommand(SimulatorOptions options, TextWriter output, TextWriter error)
{
    private const string Idle = "idle";
    private const int VictimNodes = 2;
    private const int WarmupSeconds = 3;
    private static readonly TimeSpan NodeInterval = TimeSpan.FromSeconds(1);

    public async Task<int> RunAsync(CancellationToken stopping)
    {
        var load = options.Flood ?? throw new ArgumentException("load-flood needs its options", nameof(options));
        var server = options.Server!;
        // Victims and the flood have connection pools of their own: a victim never waits behind the flood's
        // connections in this process, only (if at all) in the server.
        using var victimHttp = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = load.Victims + VictimNodes + 8 }) { Timeout = TimeSpan.FromSeconds(30) };
        using var floodHttp = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = load.Concurrency }) { Timeout = TimeSpan.FromSeconds(30) };
        var admin = new AdminClient(victimHttp, server, options.Token!);
        try
        {
            var setup = await SetUpAsync(admin, victimHttp, server, load, stopping);

            // Every phase once, briefly and unmeasured: the first requests of each path pay for compiling it.
            foreach (var flood in new FloodKind?[] { null }.Concat(load.Floods.Cast<FloodKind?>()))
            {
                await RunPhaseAsync(victimHttp, floodHttp, setup, load with { Seconds = Math.Min(load.Seconds, WarmupSeconds) }, flood, stopping);
            }

            var before = await ActivationsAsync(admin, stopping);

            var phases = new List<(string Name, VictimResult Victims, FloodResult? Flood)>();
            for (var round = 1; round <= load.Rounds; round++)
            {
                foreach (var flood in new FloodKind?[] { null }.Concat(load.Floods.Cast<FloodKind?>()))
                {
                    var name = flood is { } kind ? LoadFloodOptions.Name(kind) + " flood" : Idle;
                    var (victims, flooded) = await RunPhaseAsync(victimHttp, floodHttp, setup, load, flood, stopping);
                    phases.Add((name, victims, flooded));
                    output.WriteLine(F($"[flood] round {round} {name,-17} victims {victims.Latencies.Count:N0} requests: {Describe(victims.Summary)}{Failures(victims)}{(flooded is null ? "" : "; flood " + Describe(flooded, load.Concurrency))}"));
                }
            }

            var after = await ActivationsAsync(admin, stopping);
            return Report(phases, before, after, load);
        }
        catch (AdminApiException e)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (HttpRequestException e)
        {
            error.WriteLine($"error: cannot reach {server}: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            output.WriteLine("[flood] stopped");
            return 1;
        }
    }

    private int Report(List<(string Name, VictimResult Victims, FloodResult? Flood)> phases, IReadOnlyDictionary<string, int>? before, IReadOnlyDictionary<string, int>? after, LoadFloodOptions load)
    {
        var byName = phases
            .GroupBy(p => p.Name)
            .Select(g => (Name: g.Key, Summary: LatencySummary.From(g.SelectMany(p => p.Victims.Latencies)), Flood: g.Select(p => p.Flood).OfType<FloodResult>().ToArray()))
            .ToArray();
        var idle = byName.Single(p => p.Name == Idle).Summary;
        output.WriteLine(F($"[result] victims' p99 over {load.Rounds} round{(load.Rounds == 1 ? "" : "s")} of {load.Seconds} s: idle {Ms(idle.P99)} (p50 {Ms(idle.P50)}, {idle.Count:N0} requests)"));
        foreach (var (name, summary, floods) in byName.Where(p => p.Name != Idle))
        {
            var ratio = summary.P99.Ticks / (double)idle.P99.Ticks;
            var answered = floods.Sum(f => f.Answered);
            var perSecond = answered / floods.Sum(f => f.Elapsed.TotalSeconds);
            output.WriteLine(F($"[result] {name}: victims' p99 {Ms(summary.P99)} = {ratio:0.00} x idle (p50 {Ms(summary.P50)}, {summary.Count:N0} requests){(ratio <= 2 ? "" : "; MORE THAN 2 x IDLE")}; the flood got {perSecond:N0} answers/s, {Share(floods, 429)} of them 429"));
        }

        if (before is not null && after is not null)
        {
            var grown = after.Select(a => (Type: a.Key, Grew: a.Value - before.GetValueOrDefault(a.Key))).Where(a => a.Grew != 0).OrderByDescending(a => a.Grew).ToArray();
            output.WriteLine(grown.Length == 0
                ? "[result] grain activations: none more after the floods than before"
                : F($"[result] grain activations after the floods, against before: {string.Join(", ", grown.Select(g => $"{g.Type} {g.Grew:+#;-#;0}"))}"));
        }
        else
        {
            output.WriteLine("[result] grain activations: not measured (start the server with Diagnostics__LoadBaselines=true for its memory report)");
        }

        var failed = phases.Sum(p => p.Victims.Failures);
        if (failed > 0)
        {
            error.WriteLine(F($"error: {failed:N0} victim requests were not answered 2xx; the first: {phases.Select(p => p.Victims.FirstFailure).First(f => f is not null)}"));
            return 1;
        }

        return 0;
    }

    private async Task<Setup> SetUpAsync(AdminClient admin, HttpClient http, Uri server, LoadFloodOptions load, CancellationToken ct)
    {
        var runId = F($"{DateTime.UtcNow:yyyyMMddHHmmss}{Random.Shared.Next(0x10000):x4}");
        var start = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var customers = new List<(string ContractId, string Token)>();
        for (var i = 0; i < load.Victims; i++)
        {
            var (customerId, contractId) = ($"flood-{runId}-customer-{i}", $"flood-{runId}-contract-{i}");
            await admin.PostAsync("admin/v1/contracts", new { contractId, customerId, startDate = start, quarters = 4, quarterlyCommitUsd = 1_000, discountPercent = 0 }, ct, accepted: HttpStatusCode.Created);
            customers.Add((contractId, await IssueAsync(admin, "customer", customerId, ct)));
        }

        var deploymentId = $"flood-{runId}-deployment";
        await admin.PostAsync("admin/v1/deployments", new { deploymentId, model = "flood-model", @class = "batch", gpusPerReplica = 1, maxReplicas = 1, tokensPerSecondPerReplica = 100 }, ct, accepted: HttpStatusCode.Created);
        var gateway = await IssueAsync(admin, "gateway", $"flood-{runId}-gateway", ct);

        var nodes = new List<(NodeSpec, string)>();
        for (var i = 0; i < VictimNodes; i++)
        {
            var spec = new NodeSpec($"flood-{runId}-node-{i}", "eu-west", "own-dc", "owned", 24.5m, GpuModel.H100, 8);
            nodes.Add((spec, await admin.EnrollAsync(spec, ct)));
        }

        var heartbeats = new HeartbeatLoad(server, nodes, VictimNodes, options.Seed);
        for (var i = 0; i < VictimNodes; i++)
        {
            // The first heartbeat registers the node's GPUs (and its pool's view of them) before anything is measured.
            using var first = await http.SendAsync(heartbeats.Heartbeat(i), ct);
            if (!first.IsSuccessStatusCode)
            {
                throw new AdminApiException(F($"the first heartbeat of {nodes[i].Item1.NodeId} was answered {(int)first.StatusCode}: {await first.Content.ReadAsStringAsync(ct)}"));
            }
        }

        var floodCustomer = await IssueAsync(admin, "customer", $"flood-{runId}-flooder", ct);
        var floodGateway = await IssueAsync(admin, "gateway", $"flood-{runId}-flooder", ct);
        output.WriteLine(F($"[flood] run {runId} against {server}: victims {load.Victims} customers (a contract each, reading its invoices {load.VictimRate}/s), a gateway (demand and routes of {deploymentId}, {load.VictimRate}/s), {VictimNodes} nodes (a heartbeat a second); floods of {load.Seconds} s from {load.Concurrency} connections: {string.Join(", ", load.Floods.Select(LoadFloodOptions.Name))}"));
        return new Setup(server, customers, gateway, deploymentId, heartbeats, floodCustomer, floodGateway);
    }

    private static async Task<string> IssueAsync(AdminClient admin, string role, string subject, CancellationToken ct)
    {
        var body = await admin.PostAsync("admin/v1/tokens", new { role, subject }, ct, accepted: HttpStatusCode.Created);
        return body.GetProperty("token").GetString() ?? throw new AdminApiException("POST admin/v1/tokens answered without a token");
    }

    /// <summary>One phase: every victim on its schedule for the phase's length, and the flood (if any) meanwhile.</summary>
    private static async Task<(VictimResult Victims, FloodResult? Flood)> RunPhaseAsync(
        HttpClient victimHttp, HttpClient floodHttp, Setup setup, LoadFloodOptions load, FloodKind? flood, CancellationToken ct)
    {
        var duration = TimeSpan.FromSeconds(load.Seconds);
        var victims = new VictimRecorder();
        var rate = TimeSpan.FromSeconds(1.0 / load.VictimRate);
        var schedules = new List<Task>();
        foreach (var (contractId, token) in setup.Customers)
        {
            schedules.Add(ScheduleAsync(victimHttp, victims, rate, duration, _ => Get(setup.Server, $"v1/contracts/{contractId}/invoices", token), ct));
        }

        schedules.Add(ScheduleAsync(victimHttp, victims, rate, duration, n => n % 2 == 0
            ? Post(setup.Server, "gateway/v1/demand", new { deploymentId = setup.DeploymentId, tokensPerSecond = 10 + (n % 7) }, setup.Gateway)
            : Get(setup.Server, $"gateway/v1/deployments/{setup.DeploymentId}/endpoints", setup.Gateway), ct));
        for (var node = 0; node < VictimNodes; node++)
        {
            var worker = node;
            schedules.Add(ScheduleAsync(victimHttp, victims, NodeInterval, duration, _ => setup.Heartbeats.NextHeartbeat(worker), ct));
        }

        var flooding = flood is { } kind
            ? FloodAsync(floodHttp, load.Concurrency, duration, Flooder(setup, kind, load.SignalsPerDemand), ct)
            : Task.FromResult<FloodResult?>(null);
        await Task.WhenAll(schedules);
        return (victims.Result(), await flooding);
    }

    /// <summary>Sends <paramref name="next"/>'s requests one every <paramref name="interval"/> (the first after a random part of it, so victims do not call in step).</summary>
    private static async Task ScheduleAsync(HttpClient http, VictimRecorder recorder, TimeSpan interval, TimeSpan duration, Func<int, HttpRequestMessage> next, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var due = interval * Random.Shared.NextDouble();
        for (var n = 0; due < duration; n++, due += interval)
        {
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct);
            }

            using var request = next(n);
            var sent = Stopwatch.GetTimestamp();
            try
            {
                using var response = await http.SendAsync(request, ct);
                var body = response.IsSuccessStatusCode ? null : await response.Content.ReadAsStringAsync(ct);
                recorder.Add(Stopwatch.GetElapsedTime(sent), body is null ? null : $"{request.Method} {request.RequestUri}: {(int)response.StatusCode} {body}");
            }
            catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !ct.IsCancellationRequested))
            {
                recorder.Add(Stopwatch.GetElapsedTime(sent), $"{request.Method} {request.RequestUri}: {e.Message}");
            }
        }
    }

    private static Func<HttpRequestMessage> Flooder(Setup setup, FloodKind kind, int signals) => kind switch
    {
        FloodKind.Customer => () => Get(setup.Server, $"v1/contracts/made-up-{Guid.NewGuid():N}", setup.FloodCustomer),
        FloodKind.Gateway => () => Post(
            setup.Server,
            "gateway/v1/demand",
            new { signals = Enumerable.Range(0, signals).Select(_ => new { deploymentId = $"made-up-{Guid.NewGuid():N}", tokensPerSecond = 1 }).ToArray() },
            setup.FloodGateway),
        _ => () => Get(setup.Server, "admin/v1/nodes", $"cp1.{Guid.NewGuid():N}.{Guid.NewGuid():N}"),
    };

    /// <summary>Closed loop: <paramref name="concurrency"/> workers, each sending its next request once the last is answered.</summary>
    private static async Task<FloodResult?> FloodAsync(HttpClient http, int concurrency, TimeSpan duration, Func<HttpRequestMessage> next, CancellationToken ct)
    {
        var statuses = new ConcurrentDictionary<int, int>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(
            async () =>
            {
                while (clock.Elapsed < duration && !ct.IsCancellationRequested)
                {
                    using var request = next();
                    int status;
                    try
                    {
                        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
                        status = (int)response.StatusCode;
                    }
                    catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !ct.IsCancellationRequested))
                    {
                        status = 0;
                    }

                    statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                }
            },
            ct)));
        return new FloodResult(new Dictionary<int, int>(statuses), clock.Elapsed);
    }

    /// <summary>Live activations by grain class from the server's memory report; null when it is not mapped.</summary>
    private static async Task<IReadOnlyDictionary<string, int>?> ActivationsAsync(AdminClient admin, CancellationToken ct) =>
        await admin.FindJsonAsync("diagnostics/v1/memory", ct) is { } report
            ? report.GetProperty("activations").EnumerateArray()
                .GroupBy(a => ShortName(a.GetProperty("grainType").GetString() ?? ""))
                .ToDictionary(g => g.Key, g => g.Sum(a => a.GetProperty("activations").GetInt32()))
            : null;

    private static HttpRequestMessage Get(Uri server, string path, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private static HttpRequestMessage Post(Uri server, string path, object body, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server, path)) { Content = JsonContent.Create(body, options: JsonSerializerOptions.Web) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private static string Describe(LatencySummary? latency) =>
        latency is { } l ? F($"p50 {Ms(l.P50)}, p99 {Ms(l.P99)}, max {Ms(l.Max)}") : "none answered";

    private static string Describe(FloodResult flood, int concurrency) =>
        F($"{flood.Answered / flood.Elapsed.TotalSeconds:N0} answers/s from {concurrency} connections ({string.Join(", ", flood.Statuses.OrderByDescending(s => s.Value).Select(s => $"{(s.Key == 0 ? "no answer" : s.Key.ToString(CultureInfo.InvariantCulture))} {s.Value / (double)flood.Requests:0.0%}"))})");

    private static string Share(IReadOnlyList<FloodResult> floods, int status)
    {
        var requests = floods.Sum(f => f.Requests);
        return requests == 0 ? "none" : F($"{floods.Sum(f => f.Statuses.GetValueOrDefault(status)) / (double)requests:0.0%}");
    }

    private static string Failures(VictimResult victims) => victims.Failures > 0 ? F($"; {victims.Failures:N0} FAILED") : "";

    private static string ShortName(string grainType)
    {
        var type = grainType.Split(',')[0];
        return type[(type.LastIndexOf('.') + 1)..];
    }

    private static string Ms(TimeSpan t) => F($"{t.TotalMilliseconds:0.00} ms");

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record Setup(
        Uri Server,
        IReadOnlyList<(string ContractId, string Token)> Customers,
        string Gateway,
        string DeploymentId,
        HeartbeatLoad Heartbeats,
        string FloodCustomer,
        string FloodGateway);

    private sealed record FloodResult(IReadOnlyDictionary<int, int> Statuses, TimeSpan Elapsed)
    {
        public int Requests => Statuses.Values.Sum();

        public int Answered => Statuses.Where(s => s.Key != 0).Sum(s => s.Value);
    }

    private sealed record VictimResult(IReadOnlyList<TimeSpan> Latencies, int Failures, string? FirstFailure)
    {
        public LatencySummary? Summary => Latencies.Count == 0 ? null : LatencySummary.From(Latencies);
    }

    private sealed class VictimRecorder
    {
        private readonly ConcurrentBag<TimeSpan> _latencies = [];
        private int _failures;
        private string? _firstFailure;

        /// <summary>Every victim request's latency counts, answered 2xx or not: a refusal is no faster escape.</summary>
        public void Add(TimeSpan latency, string? failure)
        {
            _latencies.Add(latency);
            if (failure is not null)
            {
                Interlocked.Increment(ref _failures);
                Interlocked.CompareExchange(ref _firstFailure, failure, null);
            }
        }

        public VictimResult Result() => new([.. _latencies], _failures, _firstFailure);
    }
}
