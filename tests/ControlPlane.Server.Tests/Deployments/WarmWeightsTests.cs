using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;
using static ControlPlane.Server.Tests.Deployments.LiquidCapacityTests;

namespace ControlPlane.Server.Tests.Deployments;

/// <summary>
/// Warm weights end to end: real node agent processes with the simulated runtime and a model cache directory each,
/// against the real server. Placement prefers the node that holds the model; the scheduler pre-stages the model
/// on the node that would take the next replica, and that node's agent reports it warm once its prefetch is done.
/// </summary>
[Collection(CapacityServerFixture.CollectionName)]
public sealed class WarmWeightsTests(CapacityServerFixture fixture)
{
    private const string Model = "acme/llama-3-70b";
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task DedicatedReplica_GoesToTheWarmNode_AndItsNextReplicasNodeIsPrestagedAndReportedWarm()
    {
        using var admin = Server.CreateOperatorClient();
        using var scratch = new TemporaryDirectory();
        // Two nodes equal in all but their caches; id order alone would pick "warm-a-0".
        var cold = await admin.EnrollAsync("warm-a-0", "warm-a", "owned", 24m);
        var warm = await admin.EnrollAsync("warm-a-1", "warm-a", "owned", 24m);
        var coldCache = Path.Combine(scratch.Path, "cold");
        var warmCache = Path.Combine(scratch.Path, "warm");
        Directory.CreateDirectory(Path.Combine(warmCache, "acme", "llama-3-70b"));
        await File.WriteAllBytesAsync(Path.Combine(warmCache, "acme", "llama-3-70b", "model.safetensors"), new byte[4096], TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(warmCache, "acme", "llama-3-70b", ".complete"), "", TestContext.Current.CancellationToken);

        using var coldAgent = StartAgent(cold.NodeId, cold.Token, coldCache);
        using var warmAgent = StartAgent(warm.NodeId, warm.Token, warmCache);
        try
        {
            await admin.WatchStatusUntilAsync(cold.NodeId, "ready", Settle);
            var warmView = await Poll.UntilAsync(
                () => admin.GetJsonAsync($"/admin/v1/nodes/{warm.NodeId}"),
                v => WarmModels(v).Contains(Model),
                Settle,
                "the warm node to report its cached model");
            Assert.Equal(4096, warmView["warmModels"]![0]!["bytes"]!.GetValue<long>());
            Assert.True(warmView["modelCacheFreeBytes"]!.GetValue<long>() > 0);
            Assert.Empty(WarmModels(await admin.GetJsonAsync($"/admin/v1/nodes/{cold.NodeId}")));

            await CreateAsync(admin, new
            {
                deploymentId = "warm-a-ded", model = Model, @class = "dedicated", customerId = "acme", gpusPerReplica = 8, minGpuMemoryGiB = 80,
                regions = new[] { "warm-a" }, minReplicas = 1, reservedReplicas = 1, maxReplicas = 2, tokensPerSecondPerReplica = 1_000,
            });
            var placed = await UntilAsync(admin, "warm-a-ded", d => Ready(d) == 1, "the dedicated replica");
            Assert.Equal(warm.NodeId, Replicas(placed).Single()["nodeId"]!.GetValue<string>());

            // Its next replica would go to the cold node: the model is pre-staged there, and the agent's pretend
            // prefetch makes it warm (the marker in the agent's cache directory is what it reports).
            var prestaged = await Poll.UntilAsync(
                () => admin.GetJsonAsync($"/admin/v1/nodes/{cold.NodeId}"),
                v => WarmModels(v).Contains(Model),
                Settle,
                "the cold node to prefetch the model");
            Assert.Empty(prestaged["prefetch"]!.AsArray());
            Assert.True(File.Exists(Path.Combine(coldCache, "acme", "llama-3-70b", ".complete")));

            using var scraper = Server.CreateClient();
            var metrics = await Poll.UntilAsync(
                () => scraper.GetStringAsync("/metrics"),
                t => Regex.IsMatch(t, Counter("controlplane_prefetches_total", "event", "completed")),
                Settle,
                "the prefetch counters");
            Assert.Matches(Counter("controlplane_model_loads_total", "cache", "warm"), metrics);
            Assert.Matches(Counter("controlplane_prefetches_total", "event", "requested"), metrics);
        }
        finally
        {
            coldAgent.Kill(entireProcessTree: true);
            warmAgent.Kill(entireProcessTree: true);
        }
    }

    private static string Counter(string name, string tag, string value) => $"{name}\\{{[^}}]*{tag}=\"{value}\"[^}}]*\\}} [1-9]";

    private static IReadOnlyList<string> WarmModels(JsonNode view) =>
        (view["warmModels"]?.AsArray() ?? []).Select(m => m!["model"]!.GetValue<string>()).ToArray();

    private Process StartAgent(string nodeId, string token, string cache) => AgentProcesses.Start(Server, nodeId, token, cache);

    private sealed class TemporaryDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("warm-weights-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
