using System.Globalization;
using System.Text.Json;
using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Fleet;
using ControlPlane.Simulator.Live;

namespace ControlPlane.Simulator.Load;

/// <summary>
/// <c>load-heartbeats</c>: against a control plane started with <c>Diagnostics:LoadBaselines=true</c>, enroll a
/// simulated fleet, report the memory the server holds for it (per node and per GPU), then alternate two
/// closed-loop phases with the same request bodies: heartbeats through <c>/agent/v1</c>, and the baseline, a
/// bare endpoint that parses the body and calls one grain. Exit code 0 when every request was answered 2xx.
/// </summary>
internal sealed class LoadHeartbeatsCommand(SimulatorOptions options, TextWriter output, TextWriter error)
{
    private const int EnrollConcurrency = 16;

    public async Task<int> RunAsync(CancellationToken stopping)
    {
        var load = options.Heartbeats ?? throw new ArgumentException("load-heartbeats needs its options", nameof(options));
        var server = options.Server!;
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Math.Max(load.Concurrency, EnrollConcurrency) + 2 })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        var admin = new AdminClient(http, server, options.Token!);
        try
        {
            var before = await ReadMemoryAsync(admin, stopping);
            if (before is null)
            {
                error.WriteLine($"error: {server}diagnostics/v1/memory answered 404: start the control plane with Diagnostics__LoadBaselines=true (the baselines and the memory report are off by default)");
                return 1;
            }

            var existing = (await admin.ListNodesAsync(stopping)).Length;
            var fleet = await EnrollAsync(admin, http, server, load, stopping);
            var after = (await ReadMemoryAsync(admin, stopping))!;
            ReportMemory(fleet, existing, before, after);

            var phases = new List<(string Name, HttpPhaseResult Result)>();
            if (load.WarmupSeconds > 0)
            {
                output.WriteLine(F($"[load] warming up both endpoints, {load.WarmupSeconds} s each (not measured)"));
                await HttpLoadPhase.RunAsync(http, fleet.Workers, fleet.NextBaseline, TimeSpan.FromSeconds(load.WarmupSeconds), null, stopping);
                await HttpLoadPhase.RunAsync(http, fleet.Workers, fleet.NextHeartbeat, TimeSpan.FromSeconds(load.WarmupSeconds), null, stopping);
            }

            for (var round = 1; round <= load.Rounds; round++)
            {
                foreach (var (name, next) in new (string, Func<int, HttpRequestMessage>)[] { ("baseline", fleet.NextBaseline), ("heartbeats", fleet.NextHeartbeat) })
                {
                    if (name == "heartbeats")
                    {
                        await WarnIfNodesLapsedAsync(admin, stopping);
                    }

                    var result = await HttpLoadPhase.RunAsync(http, fleet.Workers, next, TimeSpan.FromSeconds(load.Seconds), null, stopping);
                    phases.Add((name, result));
                    output.WriteLine(F($"[load] round {round} {name,-10} {result.RequestsPerSecond,8:N0} requests/s ({result.Requests:N0} in {result.Elapsed.TotalSeconds:0.0} s, {fleet.Workers} in flight){Latency(result)}{Failures(result)}"));
                }
            }

            var end = (await ReadMemoryAsync(admin, stopping))!;
            ReportBareActivations(fleet, before, after, end);

            var baseline = Total(phases.Where(p => p.Name == "baseline").Select(p => p.Result));
            var heartbeats = Total(phases.Where(p => p.Name == "heartbeats").Select(p => p.Result));
            output.WriteLine(F($"[result] heartbeats {heartbeats:N0}/s, baseline (bare endpoint calling one grain) {baseline:N0}/s: heartbeats/s = {heartbeats / baseline:0.00} x baseline"));
            var failed = phases.Sum(p => p.Result.Failures);
            if (failed > 0)
            {
                var first = phases.First(p => p.Result.FirstFailure is not null).Result.FirstFailure!;
                error.WriteLine(F($"error: {failed:N0} requests failed; the first: {first}"));
                if (first.Contains(": 429 ", StringComparison.Ordinal))
                {
                    error.WriteLine("note: each node heartbeats far faster than an agent does, beyond its rate limit: start the server with RateLimiting__Node__Burst=100000 RateLimiting__Node__PerSecond=100000 for this benchmark");
                }

                return 1;
            }

            return 0;
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
            output.WriteLine("[load] stopped");
            return 1;
        }
    }

    /// <summary>
    /// A node that missed heartbeats through a baseline phase turns suspect or down, and its next heartbeat is a
    /// change (written, and told to its pool), not the steady state this measures.
    /// </summary>
    private async Task WarnIfNodesLapsedAsync(AdminClient admin, CancellationToken stopping)
    {
        var lapsed = (await admin.ListPoolsAsync(stopping)).Sum(p => p.NodesByStatus.Where(s => s.Key != "ready").Sum(s => s.Value));
        if (lapsed > 0)
        {
            output.WriteLine(F($"[load] WARNING {lapsed:N0} nodes are not ready before this heartbeat phase (they missed heartbeats while it did not run), so it measures their recovery, not a steady fleet: start the server with a heartbeat interval longer than a phase (Fleet__HeartbeatIntervalSeconds=300)"));
        }
    }

    private async Task<HeartbeatLoad> EnrollAsync(AdminClient admin, HttpClient http, Uri server, LoadHeartbeatsOptions load, CancellationToken stopping)
    {
        var specs = FleetPlan.Create(load.Nodes);
        output.WriteLine(F($"[load] enrolling {specs.Count:N0} nodes ({specs.Sum(s => s.GpuCount):N0} GPUs) on {server}, {EnrollConcurrency} at a time, then one heartbeat each"));
        var tokens = new string[specs.Count];
        var next = -1;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, EnrollConcurrency).Select(_ => Task.Run(
            async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < specs.Count)
                {
                    tokens[i] = await admin.EnrollAsync(specs[i], stopping);
                }
            },
            stopping)));
        var enrolled = clock.Elapsed;
        var fleet = new HeartbeatLoad(server, specs.Select((s, i) => (s, tokens[i])).ToArray(), load.Concurrency, options.Seed);

        // The first heartbeat of each node registers its GPUs: the state the memory figure is about.
        next = -1;
        var first = await HttpLoadPhase.RunAsync(
            http,
            EnrollConcurrency,
            _ => fleet.Heartbeat(Math.Min(Interlocked.Increment(ref next), specs.Count - 1)),
            null,
            specs.Count,
            stopping);
        if (first.Failures > 0)
        {
            throw new AdminApiException($"{first.Failures} first heartbeats failed; the first: {first.FirstFailure}");
        }

        output.WriteLine(F($"[load] enrolled in {enrolled.TotalSeconds:N1} s ({specs.Count / enrolled.TotalSeconds:N0} nodes/s); first heartbeats (each registers the node's GPUs) in {first.Elapsed.TotalSeconds:N1} s ({first.RequestsPerSecond:N0}/s, p99 {first.Latency!.P99.TotalMilliseconds:N0} ms)"));

        return fleet;
    }

    private void ReportMemory(HeartbeatLoad fleet, int existingNodes, MemoryReport before, MemoryReport after)
    {
        var heap = after.ManagedHeapBytes - before.ManagedHeapBytes;
        var workingSet = after.WorkingSetBytes - before.WorkingSetBytes;
        output.WriteLine(F($"[memory] before: managed heap {Mb(before.ManagedHeapBytes)}, working set {Mb(before.WorkingSetBytes)}"));
        output.WriteLine(F($"[memory] after {fleet.Nodes:N0} nodes ({fleet.Gpus:N0} GPUs) enrolled and heartbeating: managed heap {Mb(after.ManagedHeapBytes)}, working set {Mb(after.WorkingSetBytes)}"));
        output.WriteLine(F($"[memory] activations: {string.Join(", ", after.Activations.Take(6).Select(a => $"{ShortName(a.GrainType)} {a.Activations:N0}"))}"));
        if (existingNodes > 0)
        {
            output.WriteLine(F($"[memory] the server held {existingNodes:N0} nodes before this run, so the difference is not what this fleet costs: measure memory on a fresh server"));
            return;
        }

        output.WriteLine(F($"[memory] held for the fleet: managed heap {Mb(heap)} = {heap / (double)fleet.Nodes / 1024:N1} KiB a node, {heap / (double)fleet.Gpus / 1024:N2} KiB a GPU; working set {Mb(workingSet)} = {workingSet / (double)fleet.Nodes / 1024:N1} KiB a node"));
    }

    /// <summary>
    /// The memory baseline: the baseline phases activated one bare grain (<c>EchoBaselineGrain</c>, no state) per
    /// node, so what the heap grew by since the fleet was measured is about what a bare activation costs.
    /// </summary>
    private void ReportBareActivations(HeartbeatLoad fleet, MemoryReport before, MemoryReport fleetReport, MemoryReport end)
    {
        var echo = end.Activations.FirstOrDefault(a => ShortName(a.GrainType) == "EchoBaselineGrain")?.Activations ?? 0;
        if (echo == 0)
        {
            return;
        }

        var heap = end.ManagedHeapBytes - fleetReport.ManagedHeapBytes;
        output.WriteLine(F($"[memory] after the load: managed heap {Mb(end.ManagedHeapBytes)}, {echo:N0} bare baseline grains active: {Mb(heap)} more = {heap / (double)echo / 1024:N1} KiB a bare activation (the fleet: {(fleetReport.ManagedHeapBytes - before.ManagedHeapBytes) / (double)fleet.Nodes / 1024:N1} KiB a node)"));
    }

    /// <summary>The server's memory report; null when its diagnostics are not mapped (404).</summary>
    private static async Task<MemoryReport?> ReadMemoryAsync(AdminClient admin, CancellationToken stopping) =>
        await admin.FindJsonAsync("diagnostics/v1/memory", stopping) is { } report
            ? report.Deserialize<MemoryReport>(JsonSerializerOptions.Web)
            : null;

    private static double Total(IEnumerable<HttpPhaseResult> results)
    {
        var list = results.ToArray();
        return list.Sum(r => r.Requests) / list.Sum(r => r.Elapsed.TotalSeconds);
    }

    private static string Latency(HttpPhaseResult result) =>
        result.Latency is { } l ? F($"; latency p50 {l.P50.TotalMilliseconds:0.00} ms, p99 {l.P99.TotalMilliseconds:0.00} ms") : "";

    private static string Failures(HttpPhaseResult result) => result.Failures > 0 ? F($"; {result.Failures:N0} FAILED") : "";

    private static string ShortName(string grainType)
    {
        var type = grainType.Split(',')[0];
        return type[(type.LastIndexOf('.') + 1)..];
    }

    private static string Mb(long bytes) => F($"{bytes / 1024.0 / 1024.0:N1} MiB");

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record MemoryReport(long ManagedHeapBytes, long WorkingSetBytes, IReadOnlyList<ActivationCount> Activations);

    private sealed record ActivationCount(string GrainType, int Activations);
}
