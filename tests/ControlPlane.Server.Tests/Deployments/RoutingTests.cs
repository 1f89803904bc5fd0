using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Server.Tests.Partners;

namespace ControlPlane.Server.Tests.Deployments;

/// <summary>
/// The gateway's weighted routes end to end, with simulated nodes: a serverless deployment routes to its own replica,
/// to the spare capacity of a dedicated deployment of its model, and to partners for what is left.
/// </summary>
[Collection(CapacityServerFixture.CollectionName)]
public sealed class RoutingTests(CapacityServerFixture fixture)
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    // A model of its own: deployments of other tests in this server must not lend it slack.
    private const string Model = "route-e2e-model";

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Endpoints_ServerlessBeyondItsReplicas_RoutesToDedicatedSlackThenCheapestPartnerFirst()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        await using var nodes = new SimulatedNodes(Server, TimeSpan.FromMilliseconds(300));
        await nodes.StartAsync(admin, "route-a", 1, "route-a");
        await PartnerApiTests.PutAsync(admin, "route-dear", Model, 2m, 10_000m);
        await PartnerApiTests.PutAsync(admin, "route-cheap", Model, 0.5m, 1_000m);
        await PartnerApiTests.PutAsync(admin, "route-elsewhere", "route-other-model", 0.1m, 10_000m);

        // Dedicated: 2 ready x 1000 tokens/s, demand 500: 1500 spare. Serverless: 1 ready x 1000, demand 4000:
        // 1500 on the dedicated replicas (750 each), 1000 to the cheap partner (its capacity), 500 to the dear one.
        await LiquidCapacityTests.CreateAsync(admin, new
        {
            deploymentId = "route-ded", model = Model, @class = "dedicated", customerId = "acme", gpusPerReplica = 2,
            regions = new[] { "route-a" }, minReplicas = 2, reservedReplicas = 2, maxReplicas = 2, tokensPerSecondPerReplica = 1_000,
        });
        await LiquidCapacityTests.CreateAsync(admin, new
        {
            deploymentId = "route-sls", model = Model, @class = "serverless", gpusPerReplica = 2,
            regions = new[] { "route-a" }, minReplicas = 1, maxReplicas = 1, tokensPerSecondPerReplica = 1_000,
        });
        await LiquidCapacityTests.DemandAsync(gateway, "route-ded", 500);
        await LiquidCapacityTests.DemandAsync(gateway, "route-sls", 4_000);

        var routes = await Poll.UntilAsync(
            async () => Routes(await gateway.GetJsonAsync("/gateway/v1/deployments/route-sls/endpoints")),
            r => r.Count(x => Kind(x) == "replica") == 1 && r.Count(x => Kind(x) == "dedicated-slack") == 2,
            Settle,
            "the serverless replica and both dedicated replicas to be ready");

        var ded = await LiquidCapacityTests.GetAsync(admin, "route-ded");
        var dedReplicas = LiquidCapacityTests.Replicas(ded).Select(r => r["replicaId"]!.GetValue<string>()).Order().ToArray();
        var own = Assert.Single(routes, r => Kind(r) == "replica");
        Assert.Equal((1_000m, 0.25m), (Tps(own), Weight(own)));
        var slack = routes.Where(r => Kind(r) == "dedicated-slack").ToArray();
        Assert.Equal(dedReplicas, slack.Select(r => r["replicaId"]!.GetValue<string>()).Order());
        Assert.All(slack, r => Assert.Equal(("route-ded", 750m, 0.1875m), (r["deploymentId"]!.GetValue<string>(), Tps(r), Weight(r))));
        Assert.All(slack, r => Assert.NotNull(r["nodeId"]));
        var partners = routes.Where(r => Kind(r) == "partner").ToArray();
        Assert.Equal(
            [("route-cheap", 1_000m, 0.25m), ("route-dear", 500m, 0.125m)],
            partners.Select(p => (p["partnerId"]!.GetValue<string>(), Tps(p), Weight(p))));
        Assert.All(partners, p => Assert.Null(p["replicaId"]));

        // The old field is still there for current clients: the deployment's own ready replicas.
        var endpoints = (await gateway.GetJsonAsync("/gateway/v1/deployments/route-sls/endpoints"))["endpoints"]!.AsArray();
        Assert.Equal(own["replicaId"]!.GetValue<string>(), Assert.Single(endpoints)!["replicaId"]!.GetValue<string>());

        // Dedicated traffic comes first: its routes are its own replicas only, never shared ones or partners.
        var dedRoutes = Routes(await gateway.GetJsonAsync("/gateway/v1/deployments/route-ded/endpoints"));
        Assert.Equal(dedReplicas, dedRoutes.Select(r => r["replicaId"]!.GetValue<string>()).Order());
        Assert.All(dedRoutes, r => Assert.Equal(("replica", "route-ded", 0.5m), (Kind(r), r["deploymentId"]!.GetValue<string>(), Weight(r))));

        // The figures reach /metrics, by class and without ids.
        using var scraper = Server.CreateClient();
        var text = await Poll.UntilAsync(
            () => scraper.GetStringAsync("/metrics"),
            t => Gauge(t, "controlplane_slack_routed_per_second", "class=\"serverless\"") == 1_500m
                && Gauge(t, "controlplane_partner_routed_per_second", "class=\"serverless\"") == 1_500m,
            Settle,
            "the routing gauges");
        Assert.True(Gauge(text, "controlplane_partner_capacity_per_second", null) >= 21_000m);

        // When the dedicated deployment needs its capacity, the shared routes leave its replicas.
        await LiquidCapacityTests.DemandAsync(gateway, "route-ded", 2_000);
        var after = Routes(await gateway.GetJsonAsync("/gateway/v1/deployments/route-sls/endpoints"));
        Assert.DoesNotContain(after, r => Kind(r) == "dedicated-slack");
        Assert.Equal(3_000m, after.Where(r => Kind(r) == "partner").Sum(Tps));
        Assert.Empty(nodes.Violations);
    }

    [Fact]
    public async Task Endpoints_ServerlessBeyondItsReplicasWithoutDedicatedSlack_RoutesToBatchReplicasOfItsModel()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        await using var nodes = new SimulatedNodes(Server, TimeSpan.FromMilliseconds(300));
        await nodes.StartAsync(admin, "route-b", 1, "route-b");
        const string model = "route-batch-model";

        // Serverless: 1 ready x 1000 tokens/s, demand 2500. Batch of its model: 2 ready x 1000. No dedicated deployment:
        // the 1500 beyond the serverless replica goes to the batch replicas (750 each), whose own requests wait.
        await LiquidCapacityTests.CreateAsync(admin, new
        {
            deploymentId = "route-sls-b", model, @class = "serverless", gpusPerReplica = 2,
            regions = new[] { "route-b" }, minReplicas = 1, maxReplicas = 1, tokensPerSecondPerReplica = 1_000,
        });
        await LiquidCapacityTests.CreateAsync(admin, new
        {
            deploymentId = "route-batch-b", model, @class = "batch", gpusPerReplica = 2,
            regions = new[] { "route-b" }, maxReplicas = 2, tokensPerSecondPerReplica = 1_000,
        });
        await LiquidCapacityTests.DemandAsync(gateway, "route-batch-b", 50_000);
        await LiquidCapacityTests.DemandAsync(gateway, "route-sls-b", 2_500);

        var routes = await Poll.UntilAsync(
            async () => Routes(await gateway.GetJsonAsync("/gateway/v1/deployments/route-sls-b/endpoints")),
            r => r.Count(x => Kind(x) == "replica") == 1 && r.Count(x => Kind(x) == "shared-replica") == 2,
            Settle,
            "the serverless replica and both batch replicas to be ready");

        var own = Assert.Single(routes, r => Kind(r) == "replica");
        Assert.Equal((1_000m, 0.4m), (Tps(own), Weight(own)));
        var batch = routes.Where(r => Kind(r) == "shared-replica").ToArray();
        Assert.All(batch, r => Assert.Equal(("route-batch-b", 750m, 0.3m), (r["deploymentId"]!.GetValue<string>(), Tps(r), Weight(r))));
        Assert.DoesNotContain(routes, r => Kind(r) == "partner");
        Assert.Empty(nodes.Violations);
    }

    [Fact]
    public async Task Endpoints_ServerlessRestrictedToARegion_NeverRoutedToDedicatedReplicasInAnother()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        await using var nodes = new SimulatedNodes(Server, TimeSpan.FromMilliseconds(300));
        await nodes.StartAsync(admin, "route-c1", 1, "route-c1");
        await nodes.StartAsync(admin, "route-c2", 1, "route-c2");
        const string model = "route-region-model";

        // Two dedicated deployments of the model, one in each region, 2 ready x 1000 tokens/s each: 1500 spare in c1
        // (demand 500), 2000 in c2 (no demand). The serverless one may be served in c1 only: of its 4000, 1000 on its own
        // replica and 1500 on the c1 replicas (750 each); nothing goes to c2, though its spare idles.
        await LiquidCapacityTests.CreateAsync(admin, new
        {
            deploymentId = "route-ded-c1", model, @class = "dedicated", customerId = "acme", gpusPerReplica = 2,
            regions = new[] { "route-c1" }, minReplicas = 2, reservedReplicas = 2, maxReplicas = 2, tokensPerSecondPerReplica = 1_000,
        });
        await LiquidCapacityTests.CreateAsync(admin, new
        {
            deploymentId = "route-ded-c2", model, @class = "dedicated", customerId = "acme", gpusPerReplica = 2,
            regions = new[] { "route-c2" }, minReplicas = 2, reservedReplicas = 2, maxReplicas = 2, tokensPerSecondPerReplica = 1_000,
        });
        await LiquidCapacityTests.CreateAsync(admin, new
        {
            deploymentId = "route-sls-c1", model, @class = "serverless", gpusPerReplica = 2,
            regions = new[] { "route-c1" }, minReplicas = 1, maxReplicas = 1, tokensPerSecondPerReplica = 1_000,
        });
        await LiquidCapacityTests.DemandAsync(gateway, "route-ded-c1", 500);
        await LiquidCapacityTests.DemandAsync(gateway, "route-ded-c2", 0);
        await LiquidCapacityTests.DemandAsync(gateway, "route-sls-c1", 4_000);

        var routes = await Poll.UntilAsync(
            async () => Routes(await gateway.GetJsonAsync("/gateway/v1/deployments/route-sls-c1/endpoints")),
            r => r.Count(x => Kind(x) == "replica") == 1 && r.Count(x => Kind(x) == "dedicated-slack") == 2,
            Settle,
            "the serverless replica and both c1 dedicated replicas to be ready");
        var c2Ready = await LiquidCapacityTests.UntilAsync(admin, "route-ded-c2", d => LiquidCapacityTests.Ready(d) == 2, "the c2 dedicated replicas to be ready");
        routes = Routes(await gateway.GetJsonAsync("/gateway/v1/deployments/route-sls-c1/endpoints"));

        var slack = routes.Where(r => Kind(r) == "dedicated-slack").ToArray();
        Assert.All(slack, r => Assert.Equal(("route-ded-c1", 750m), (r["deploymentId"]!.GetValue<string>(), Tps(r))));
        Assert.All(slack, r => Assert.StartsWith("route-c1", r["nodeId"]!.GetValue<string>(), StringComparison.Ordinal));
        Assert.DoesNotContain(routes, r => r["deploymentId"]?.GetValue<string>() == "route-ded-c2");
        Assert.All(LiquidCapacityTests.Replicas(c2Ready), r => Assert.StartsWith("route-c2", r["nodeId"]!.GetValue<string>(), StringComparison.Ordinal));
        Assert.Empty(nodes.Violations);
    }

    private static JsonNode[] Routes(JsonNode endpoints) => endpoints["routes"]!.AsArray().Select(r => r!).ToArray();

    private static string Kind(JsonNode route) => route["kind"]!.GetValue<string>();

    private static decimal Tps(JsonNode route) => route["tokensPerSecond"]!.GetValue<decimal>();

    private static decimal Weight(JsonNode route) => route["weight"]!.GetValue<decimal>();

    private static decimal? Gauge(string text, string name, string? label)
    {
        var m = Regex.Match(text, $@"^{name}(\{{[^}}]*{(label is null ? "" : Regex.Escape(label))}[^}}]*\}})? ([0-9.eE+-]+)", RegexOptions.Multiline);
        return m.Success ? decimal.Parse(m.Groups[2].Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture) : null;
    }
}
