using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;
using static ControlPlane.Server.Tests.Deployments.LiquidCapacityTests;

namespace ControlPlane.Server.Tests.Deployments;

/// <summary>
/// Sleeping replicas end to end: a real node agent process with the simulated runtime, a model cache that holds the
/// model's weights and a sleep budget, against the real server with the forecast on (so dedicated deployments say how
/// many of their replicas must run now).
/// </summary>
[Collection(ForecastServerFixture.CollectionName)]
public sealed class SleepingReplicaTests(ForecastServerFixture fixture)
{
    private const string Model = "acme/sleepy-70b";
    private const int WeightBytes = 4096;
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(45);

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task DedicatedDeployment_AwakeReplicasAndTier_AreShownAndSentToTheNode()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (nodeId, token) = await admin.EnrollAsync("awake-a-0", "awake-a", "owned", 24m);
        using var node = Server.CreateClient(token);
        await node.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(8));
        await CreateAsync(admin, Spec("awake-ded", "awake-a"));

        await DemandAsync(gateway, "awake-ded", 1_500);

        // No headroom is kept (headroomPercent 0): both replicas are for the demand seen, so both must run.
        var deployment = await UntilAsync(admin, "awake-ded", d => d["awakeReplicas"]?.GetValue<int>() == 2, "the deployment to say 2 replicas must run");
        Assert.Equal(2, deployment["desiredReplicas"]!.GetValue<int>());
        var desired = await Poll.UntilAsync(
            async () =>
            {
                using var response = await node.HeartbeatAsync(nodeId, 2 + Environment.TickCount64, ApiClient.Gpus(8));
                return (await response.Content.ReadFromJsonAsync<JsonNode>(TestContext.Current.CancellationToken))!["desired"]!.AsArray();
            },
            d => d.Count == 2,
            Settle,
            "both replicas in the node's desired list");
        Assert.Equal(["burst", "reserved"], desired.Select(r => r!["tier"]!.GetValue<string>()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task DedicatedScaleDown_ItsEngineSleeps_AndARiseWakesItOnTheSameGpus()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var cache = Directory.CreateTempSubdirectory("sleeping-replicas-").FullName;
        var weights = Path.Combine([cache, .. Model.Split('/')]);
        Directory.CreateDirectory(weights);
        await File.WriteAllBytesAsync(Path.Combine(weights, "model.safetensors"), new byte[WeightBytes], TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(weights, ".complete"), "", TestContext.Current.CancellationToken);
        var (nodeId, token) = await admin.EnrollAsync("sleep-a-0", "sleep-a", "owned", 24m);
        var output = new OutputLog();
        using var agent = AgentProcesses.Start([Server], nodeId, token, cache, loadSeconds: 2, output, "--sleep-budget-gb", "1", "--simulated-wake-seconds", "1");
        try
        {
            await admin.WatchStatusUntilAsync(nodeId, "ready", Settle);
            await CreateAsync(admin, Spec("sleep-ded", "sleep-a"));
            await DemandAsync(gateway, "sleep-ded", 1_500);
            var both = await UntilAsync(admin, "sleep-ded", d => Ready(d) == 2, "both replicas to be ready");

            // Demand falls, and the gateway keeps saying so (the rise stays in the forecast's window for a horizon): after
            // the scale-down delay one replica is released, and its engine sleeps on its GPUs.
            var one = await Poll.UntilAsync(
                async () =>
                {
                    await DemandAsync(gateway, "sleep-ded", 500);
                    return await GetAsync(admin, "sleep-ded");
                },
                d => Placed(d) == 1,
                Settle,
                "the scale-down");
            var released = Replicas(both).Single(r => !Replicas(one).Any(k => k["replicaId"]!.GetValue<string>() == r["replicaId"]!.GetValue<string>()));
            var gpus = Gpus(released);
            var view = await Poll.UntilAsync(
                () => admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"),
                v => v["sleeping"]!.AsArray().Count == 1,
                Settle,
                "the released replica's engine to be reported asleep");
            var sleeping = view["sleeping"]![0]!;
            Assert.Equal(("sleep-ded", Model, WeightBytes), (sleeping["deploymentId"]!.GetValue<string>(), sleeping["model"]!.GetValue<string>(), sleeping["bytes"]!.GetValue<int>()));
            Assert.Equal(gpus, sleeping["gpuIndices"]!.AsArray().Select(g => g!.GetValue<int>()));

            // Demand rises again: the new replica goes on the sleeper's GPUs, and the agent wakes the engine there.
            await DemandAsync(gateway, "sleep-ded", 1_500);
            var again = await UntilAsync(admin, "sleep-ded", d => Ready(d) == 2, "the replica to come back");
            var back = Replicas(again).Single(r => !Replicas(one).Any(k => k["replicaId"]!.GetValue<string>() == r["replicaId"]!.GetValue<string>()));
            Assert.Equal(gpus, Gpus(back));
            await Poll.UntilAsync(
                () => admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"),
                v => v["sleeping"]!.AsArray().Count == 0,
                Settle,
                "the woken engine to leave the sleeping list");
            Assert.Contains($"waking the engine of replica {released["replicaId"]!.GetValue<string>()} as replica {back["replicaId"]!.GetValue<string>()}", output.ToString(), StringComparison.Ordinal);

            // The scheduler placed it there to wake the engine (a wake, not a load).
            using var scraper = Server.CreateClient();
            await Poll.UntilAsync(
                () => scraper.GetStringAsync("/metrics"),
                t => Regex.IsMatch(t, @"controlplane_wakes_total(\{[^}]*\})? [1-9]"),
                Settle,
                "the wake counter");
        }
        finally
        {
            agent.Kill(entireProcessTree: true);
            Directory.Delete(cache, recursive: true);
        }
    }

    private static object Spec(string id, string region) => new
    {
        deploymentId = id, model = Model, @class = "dedicated", customerId = "acme", gpusPerReplica = 4, minGpuMemoryGiB = 80,
        regions = new[] { region }, minReplicas = 1, reservedReplicas = 1, maxReplicas = 2, tokensPerSecondPerReplica = 1_000, headroomPercent = 0,
    };

    private static int[] Gpus(JsonNode replica) => replica["gpuIndices"]!.AsArray().Select(g => g!.GetValue<int>()).Order().ToArray();
}
