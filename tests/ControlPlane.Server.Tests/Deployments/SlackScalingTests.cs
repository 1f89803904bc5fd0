using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Deployments.LiquidCapacityTests;

namespace ControlPlane.Server.Tests.Deployments;

/// <summary>
/// Serverless scaling net of dedicated slack, end to end: a serverless deployment beside a dedicated one of the same
/// model scales its own replicas on its demand less the spare the dedicated deployment keeps, and back up when the
/// dedicated deployment needs its capacity.
/// </summary>
[Collection(CapacityServerFixture.CollectionName)]
public sealed class SlackScalingTests(CapacityServerFixture fixture)
{
    // A model and a region of its own: no other test's deployments lend or borrow here.
    private const string Model = "slack-scale-model";
    private const string Region = "slk-a";

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Serverless_BesideDedicatedWithSpare_ScalesOnDemandLessTheSpare_AndBackUpWhenDedicatedDemandRises()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        await using var nodes = new SimulatedNodes(Server, TimeSpan.FromMilliseconds(300));
        await nodes.StartAsync(admin, Region, 2, Region);

        // Dedicated: 2 ready x 1000 tokens/s, demand 500: it keeps 1500 tokens/s spare.
        await CreateAsync(admin, new
        {
            deploymentId = "slk-ded", model = Model, @class = "dedicated", customerId = "acme", gpusPerReplica = 2,
            regions = new[] { Region }, minReplicas = 2, reservedReplicas = 2, maxReplicas = 2, tokensPerSecondPerReplica = 1_000,
        });
        await DemandAsync(gateway, "slk-ded", 500);
        await UntilAsync(admin, "slk-ded", d => Ready(d) == 2, "the dedicated replicas");

        // Serverless demand 3000 would need 3 replicas of 1000; less the 1500 it counts on, 2.
        await CreateAsync(admin, new
        {
            deploymentId = "slk-sls", model = Model, @class = "serverless", gpusPerReplica = 2,
            regions = new[] { Region }, minReplicas = 0, maxReplicas = 4, tokensPerSecondPerReplica = 1_000,
        });
        await DemandAsync(gateway, "slk-sls", 3_000);
        var netted = await UntilAsync(
            admin, "slk-sls", d => Scaling(d) == 1_500m && Desired(d) == 2 && Ready(d) == 2, "the serverless deployment to scale on its net demand");
        Assert.Equal(3_000m, netted["demandTokensPerSecond"]!.GetValue<decimal>());

        // Its own two replicas take 2000; the 1000 left goes to the dedicated replicas' spare (it never needs a partner).
        var routes = (await gateway.GetJsonAsync("/gateway/v1/deployments/slk-sls/endpoints"))["routes"]!.AsArray();
        Assert.Equal(1_000m, routes.Where(r => r!["kind"]!.GetValue<string>() == "dedicated-slack").Sum(r => r!["tokensPerSecond"]!.GetValue<decimal>()));

        // The dedicated deployment now needs all it has: nothing is left to count on, and serverless scales back up.
        await DemandAsync(gateway, "slk-ded", 2_000);
        var raised = await UntilAsync(
            admin, "slk-sls", d => Scaling(d) == 3_000m && Desired(d) == 3, "the serverless deployment to scale on its whole demand");
        Assert.Equal(2, Desired(await GetAsync(admin, "slk-ded")));
        Assert.True(Ready(raised) >= 2);
        Assert.Null((await GetAsync(admin, "slk-ded"))["scalingDemandTokensPerSecond"]);
        Assert.Empty(nodes.Violations);
    }

    [Fact]
    public async Task Serverless_WhileDedicatedScaleDownIsPending_DoesNotCountOnTheReplicasItWillRelease()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        await using var nodes = new SimulatedNodes(Server, TimeSpan.FromMilliseconds(300));
        await nodes.StartAsync(admin, "slk-b", 2, "slk-b");

        // Dedicated: 3 ready x 1000 tokens/s for demand 2500 (500 spare); serverless demand 1500 scales on 1000.
        await CreateAsync(admin, new
        {
            deploymentId = "slk-b-ded", model = "slack-keep-model", @class = "dedicated", customerId = "acme", gpusPerReplica = 2,
            regions = new[] { "slk-b" }, minReplicas = 1, reservedReplicas = 1, maxReplicas = 3, tokensPerSecondPerReplica = 1_000,
        });
        await DemandAsync(gateway, "slk-b-ded", 2_500);
        await UntilAsync(admin, "slk-b-ded", d => Ready(d) == 3, "the dedicated replicas");
        await CreateAsync(admin, new
        {
            deploymentId = "slk-b-sls", model = "slack-keep-model", @class = "serverless", gpusPerReplica = 2,
            regions = new[] { "slk-b" }, minReplicas = 0, maxReplicas = 4, tokensPerSecondPerReplica = 1_000,
        });
        await DemandAsync(gateway, "slk-b-sls", 1_500);
        await UntilAsync(admin, "slk-b-sls", d => Scaling(d) == 1_000m && Desired(d) == 1, "the serverless deployment to scale on 1000");

        // Dedicated demand falls to 1000: it keeps 1 replica, and releases the other 2 after the delay. Counted with its
        // 3 ready replicas it would lend 2000 and serverless would scale to nothing meanwhile; counted with the one it
        // keeps it lends none, so serverless scales on its whole demand before the 2 go.
        await DemandAsync(gateway, "slk-b-ded", 1_000);
        var seen = new List<(int DedicatedDesired, decimal? Scaling)>();
        await Poll.UntilAsync(
            async () =>
            {
                var (ded, sls) = (await GetAsync(admin, "slk-b-ded"), await GetAsync(admin, "slk-b-sls"));
                seen.Add((Desired(ded), Scaling(sls)));
                return (Ded: ded, Sls: sls);
            },
            x => Desired(x.Ded) == 1 && Desired(x.Sls) == 2,
            TimeSpan.FromSeconds(30),
            "the dedicated scale-down and the serverless scale-up");
        Assert.Contains(seen, s => s.DedicatedDesired == 3 && s.Scaling == 1_500m);
        Assert.DoesNotContain(seen, s => s.Scaling < 1_000m);
        Assert.Empty(nodes.Violations);
    }

    private static decimal? Scaling(JsonNode deployment) => deployment["scalingDemandTokensPerSecond"]?.GetValue<decimal>();

    private static int Desired(JsonNode deployment) => deployment["desiredReplicas"]!.GetValue<int>();
}
