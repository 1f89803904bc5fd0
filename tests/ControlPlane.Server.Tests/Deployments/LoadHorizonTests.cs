using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Deployments.LiquidCapacityTests;

namespace ControlPlane.Server.Tests.Deployments;

/// <summary>
/// The learned load horizon end to end: a real node agent whose simulated replicas take 5 seconds to load, and a
/// deployment whose forecast horizon starts at the configured 2 seconds and moves to the load time it observes.
/// </summary>
[Collection(ForecastServerFixture.CollectionName)]
public sealed class LoadHorizonTests(ForecastServerFixture fixture)
{
    private const int LoadSeconds = 5;

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task ForecastHorizon_StartsAtTheConfiguredValue_AndMovesToTheObservedLoadTime()
    {
        using var admin = Server.CreateOperatorClient();
        var node = await admin.EnrollAsync("horizon-a-0", "horizon-a", "owned", 24m);
        using var agent = AgentProcesses.Start(Server, node.NodeId, node.Token, cache: null, LoadSeconds);
        try
        {
            await admin.WatchStatusUntilAsync(node.NodeId, "ready", TimeSpan.FromSeconds(30));
            await CreateAsync(admin, new
            {
                deploymentId = "horizon-ded", model = "horizon-model", @class = "dedicated", customerId = "acme", gpusPerReplica = 8,
                regions = new[] { "horizon-a" }, minReplicas = 1, reservedReplicas = 1, maxReplicas = 1, tokensPerSecondPerReplica = 1_000,
            });
            var created = await GetAsync(admin, "horizon-ded");
            Assert.Equal(2, created["forecastHorizonSeconds"]!.GetValue<int>());
            Assert.Null(created["headroomPercent"]);

            // Placed to ready is the agent's load plus up to a heartbeat on each side: the horizon takes it at once.
            var loaded = await UntilAsync(admin, "horizon-ded", d => Ready(d) == 1 && d["forecastHorizonSeconds"]!.GetValue<int>() > 2, "the replica's load to be learned");
            var horizon = loaded["forecastHorizonSeconds"]!.GetValue<int>();
            Assert.InRange(horizon, LoadSeconds, LoadSeconds + 3);
        }
        finally
        {
            agent.Kill(entireProcessTree: true);
        }
    }
}
