using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Deployments;

/// <summary>The issue's walk-through, as a new user would try it through the HTTP API with simulated 8-GPU nodes.</summary>
[Collection(CapacityServerFixture.CollectionName)]
public sealed class LiquidCapacityTests(CapacityServerFixture fixture)
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task SpikeAndRelease_BatchFillsTheFleet_DedicatedTakesGpusAndGivesThemBackAfterTheDelay()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        await using var nodes = new SimulatedNodes(Server, TimeSpan.FromMilliseconds(500));
        var ids = await nodes.StartAsync(admin, "liq-a", 4, "liq-a");

        await CreateAsync(admin, Batch("liq-a-batch", "liq-a"));
        await DemandAsync(gateway, "liq-a-batch", 1);
        await UntilAsync(admin, "liq-a-batch", d => Placed(d) == 32, "batch to fill all 32 GPUs");

        await CreateAsync(admin, Dedicated("liq-a-ded", "liq-a", gpus: 4, reserved: 2, max: 6));
        await DemandAsync(gateway, "liq-a-ded", 5_500);
        var spiked = await UntilAsync(admin, "liq-a-ded", d => Ready(d) == 6, "the spike to get 6 ready replicas");
        Assert.Equal(["reserved", "reserved", "burst", "burst", "burst", "burst"], Replicas(spiked).Select(r => r["tier"]!.GetValue<string>()));
        Assert.Equal(8, Placed(await GetAsync(admin, "liq-a-batch")));
        var pool = await PoolAsync(admin, "liq-a");
        Assert.Equal((8, 16, 8, 0), (pool["reserved"]!.GetValue<int>(), pool["burst"]!.GetValue<int>(), pool["batch"]!.GetValue<int>(), pool["idle"]!.GetValue<int>()));
        // Routing leaves out a node not heard within the suspect window as the silos last shared it (once a second): on a
        // busy machine the six can take a moment to be routable after they are ready.
        await Poll.UntilAsync(
            async () => (await gateway.GetJsonAsync("/gateway/v1/deployments/liq-a-ded/endpoints"))["endpoints"]!.AsArray().Count,
            count => count == 6,
            TimeSpan.FromSeconds(30),
            "the six ready replicas to be routed to");

        // Lower demand waits out the delay before anything is released.
        await DemandAsync(gateway, "liq-a-ded", 1_000);
        var waiting = await GetAsync(admin, "liq-a-ded");
        Assert.Equal(6, waiting["desiredReplicas"]!.GetValue<int>());
        Assert.NotNull(waiting["scaleDownDueAt"]?.GetValue<DateTimeOffset>());

        var settled = await UntilAsync(admin, "liq-a-ded", d => Placed(d) == 1, "the burst replicas to be released");
        Assert.Equal("reserved", Replicas(settled).Single()["tier"]!.GetValue<string>());
        await UntilAsync(admin, "liq-a-batch", d => Placed(d) == 28, "batch to take the GPUs back");

        // A reservation the region cannot hold beside acme's is refused, and nothing is created.
        using (var refused = await admin.PostAsJsonAsync("/admin/v1/deployments", Dedicated("liq-a-huge", "liq-a", gpus: 8, reserved: 4, max: 4)))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("reservation", (await refused.ProblemAsync())["title"]!.GetValue<string>());
        }

        using (var missing = await admin.GetAsync("/admin/v1/deployments/liq-a-huge"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        // Killing the node of the dedicated replica re-places it.
        var lost = Replicas(settled).Single()["nodeId"]!.GetValue<string>();
        await nodes.KillAsync(lost);
        var moved = await UntilAsync(admin, "liq-a-ded", d => Ready(d) == 1 && Replicas(d).All(r => r["nodeId"]!.GetValue<string>() != lost), "the replica to be re-placed");
        Assert.Contains(Replicas(moved).Single()["nodeId"]!.GetValue<string>(), ids);

        Assert.Empty(nodes.Violations);
    }

    [Fact]
    public async Task Drain_MovesTheReplicaMakeBeforeBreak_ThenTheNodeRunsNothing()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        await using var nodes = new SimulatedNodes(Server, TimeSpan.FromSeconds(1));
        await nodes.StartAsync(admin, "liq-b", 2, "liq-b");
        await CreateAsync(admin, Dedicated("liq-b-ded", "liq-b", gpus: 8, reserved: 1, max: 1, min: 1));
        var ready = await UntilAsync(admin, "liq-b-ded", d => Ready(d) == 1, "the replica to be ready");
        var from = Replicas(ready).Single()["nodeId"]!.GetValue<string>();

        using (var drain = await admin.PostAsync($"/admin/v1/nodes/{from}/drain", null))
        {
            Assert.Equal(HttpStatusCode.OK, drain.StatusCode);
        }

        var routable = new List<int>();
        var done = await Poll.UntilAsync(
            async () =>
            {
                routable.Add((await gateway.GetJsonAsync("/gateway/v1/deployments/liq-b-ded/endpoints"))["endpoints"]!.AsArray().Count);
                return await GetAsync(admin, "liq-b-ded");
            },
            d => Replicas(d).Count == 1 && Replicas(d).Single()["nodeId"]!.GetValue<string>() != from && Ready(d) == 1,
            Settle,
            "the replica to move off the draining node");

        Assert.DoesNotContain(0, routable);
        Assert.Equal("ready", Replicas(done).Single()["state"]!.GetValue<string>());
        await Poll.UntilAsync(() => Task.FromResult(nodes.RunningOn(from).Count), n => n == 0, Settle, "the drained node to stop its replica");
        Assert.Empty(nodes.Violations);
    }

    [Fact]
    public async Task Migrate_ToANewModel_ReplacesReplicaByReplicaNeverBelowTheReadyCount()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        await using var nodes = new SimulatedNodes(Server, TimeSpan.FromSeconds(1));
        await nodes.StartAsync(admin, "liq-c", 2, "liq-c");
        await CreateAsync(admin, Dedicated("liq-c-ded", "liq-c", gpus: 4, reserved: 2, max: 3, min: 2));
        await UntilAsync(admin, "liq-c-ded", d => Ready(d) == 2, "two ready replicas");

        using (var migrate = await admin.PostAsJsonAsync("/admin/v1/deployments/liq-c-ded/migrate", new { model = "llama-3.1-70b" }))
        {
            Assert.Equal(HttpStatusCode.OK, migrate.StatusCode);
            Assert.Equal(2, (await migrate.Content.ReadFromJsonAsync<JsonNode>())!["generation"]!.GetValue<int>());
        }

        var routable = new List<int>();
        var done = await Poll.UntilAsync(
            async () =>
            {
                routable.Add((await gateway.GetJsonAsync("/gateway/v1/deployments/liq-c-ded/endpoints"))["endpoints"]!.AsArray().Count);
                return await GetAsync(admin, "liq-c-ded");
            },
            d => Replicas(d).Count == 2 && Ready(d) == 2 && Replicas(d).All(r => r["model"]!.GetValue<string>() == "llama-3.1-70b"),
            Settle,
            "both replicas to run the new model");

        Assert.All(routable, count => Assert.True(count >= 2, $"ready replicas fell to {count} during the migration"));
        Assert.Equal(2, Replicas(done).Count);
        Assert.Empty(nodes.Violations);
    }

    [Fact]
    public async Task Metrics_ShowGpusByPoolAndPreemptions()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        await using var nodes = new SimulatedNodes(Server, TimeSpan.Zero);
        await nodes.StartAsync(admin, "liq-d", 1, "liq-d");
        await CreateAsync(admin, Batch("liq-d-batch", "liq-d"));
        await DemandAsync(gateway, "liq-d-batch", 1);
        await UntilAsync(admin, "liq-d-batch", d => Placed(d) == 8, "batch to fill the node");
        await CreateAsync(admin, Dedicated("liq-d-ded", "liq-d", gpus: 2, reserved: 1, max: 1, min: 1));
        await UntilAsync(admin, "liq-d-ded", d => Ready(d) == 1, "the dedicated replica");

        using var scraper = Server.CreateClient();
        var text = await Poll.UntilAsync(
            () => scraper.GetStringAsync("/metrics"),
            t => System.Text.RegularExpressions.Regex.IsMatch(t, Allocated("dedicated", "reserved", 2)),
            Settle,
            "the allocation gauge");
        Assert.Matches(Allocated("shared", "batch", 6), text);
        Assert.Matches(@"controlplane_preemptions_total(\{[^}]*\})? [1-9]", text);
    }

    private static string Allocated(string pool, string tier, int gpus) =>
        $"controlplane_gpus_allocated\\{{[^}}]*pool=\"{pool}\",region=\"liq-d\",sku=\"h100-sxm-80gb\",tier=\"{tier}\"\\}} {gpus}\\n";

    internal static object Batch(string id, string region, int max = 64) => new
    {
        deploymentId = id, model = "llama-3-8b", @class = "batch", gpusPerReplica = 1, regions = new[] { region },
        maxReplicas = max, tokensPerSecondPerReplica = 100,
    };

    internal static object Dedicated(string id, string region, int gpus, int reserved, int max, int min = 0) => new
    {
        deploymentId = id, model = "llama-3-70b", @class = "dedicated", customerId = "acme", gpusPerReplica = gpus, minGpuMemoryGiB = 80,
        regions = new[] { region }, minReplicas = min, reservedReplicas = reserved, maxReplicas = max, tokensPerSecondPerReplica = 1_000,
    };

    internal static async Task CreateAsync(HttpClient admin, object spec)
    {
        using var response = await admin.PostAsJsonAsync("/admin/v1/deployments", spec);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    internal static async Task DemandAsync(HttpClient gateway, string id, decimal tokensPerSecond)
    {
        using var response = await gateway.PostAsJsonAsync("/gateway/v1/demand", new { deploymentId = id, tokensPerSecond });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    internal static Task<JsonNode> GetAsync(HttpClient admin, string id) => admin.GetJsonAsync($"/admin/v1/deployments/{id}");

    internal static Task<JsonNode> UntilAsync(HttpClient admin, string id, Func<JsonNode, bool> done, string what) =>
        Poll.UntilAsync(() => GetAsync(admin, id), done, Settle, what);

    internal static IReadOnlyList<JsonNode> Replicas(JsonNode deployment) => deployment["replicas"]!.AsArray().Select(r => r!).ToArray();

    internal static int Placed(JsonNode deployment) => Replicas(deployment).Count(r => r["state"]!.GetValue<string>() != "draining");

    internal static int Ready(JsonNode deployment) => Replicas(deployment).Count(r => r["state"]!.GetValue<string>() == "ready");

    private static async Task<JsonNode> PoolAsync(HttpClient admin, string region) =>
        (await admin.GetJsonAsync("/admin/v1/pools")).AsArray().Single(p => p!["region"]!.GetValue<string>() == region)!["allocation"]!;
}
