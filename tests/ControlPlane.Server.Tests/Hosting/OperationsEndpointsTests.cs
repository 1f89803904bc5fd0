using System.Net;
using System.Net.Http.Json;

namespace ControlPlane.Server.Tests.Hosting;

[Collection(EmbeddedServerFixture.CollectionName)]
public sealed class OperationsEndpointsTests(EmbeddedServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task Health_Anonymous_Returns200(string path)
    {
        using var anonymous = Server.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task Diagnostics_NotTurnedOn_AreNotMapped()
    {
        using var admin = Server.CreateOperatorClient();

        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/diagnostics/v1/memory")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/diagnostics/v1/echo/x", JsonContent.Create(new { sequence = 1 }))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/diagnostics/v1/state-writes/x", JsonContent.Create(new { payload = "x" }))).StatusCode);
    }

    [Fact]
    public async Task OpenApi_DescribesTheFleetEndpoints()
    {
        using var anonymous = Server.CreateClient();
        var document = await anonymous.GetJsonAsync("/openapi/v1.json");

        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToArray();
        Assert.Contains("/admin/v1/nodes", paths);
        Assert.Contains("/admin/v1/nodes/{nodeId}", paths);
        Assert.Contains("/agent/v1/nodes/{nodeId}/heartbeat", paths);
        Assert.Contains("/admin/v1/pools", paths);
    }

    [Fact]
    public async Task Metrics_ExposeFleetGaugesAndHeartbeatCounter()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("metrics-node", region: "metrics-region");
        using var node = Server.CreateClient(token);
        await node.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(8));
        using var anonymous = Server.CreateClient();

        // The fleet gauges are refreshed every second in tests (Metrics:FleetRefreshSeconds).
        var text = await Poll.UntilAsync(
            () => anonymous.GetStringAsync("/metrics"),
            t => t.Contains("region=\"metrics-region\",sku=\"h100-sxm-80gb\",status=\"ready\"} 8", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20),
            "the GPU gauge of metrics-region");

        Assert.Contains("controlplane_heartbeats_received_total{", text);
        Assert.Contains("result=\"accepted\"", text);
        Assert.Contains("controlplane_nodes{", text);
        Assert.Contains("# TYPE controlplane_gpus gauge", text);
        Assert.DoesNotContain("metrics-node", text);
    }

    [Fact]
    public async Task Metrics_SleepingEnginesByRegionAndTheWakeCounter()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("metrics-sleeping", region: "metrics-sleep-region");
        using var node = Server.CreateClient(token);
        using var response = await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new
        {
            sequence = 1, agentSessionId = "s", gpus = ApiClient.Gpus(8),
            sleeping = new[]
            {
                new { deploymentId = "a", model = "m", gpuIndices = new[] { 0 }, bytes = 1L },
                new { deploymentId = "b", model = "m", gpuIndices = new[] { 1, 2 }, bytes = 1L },
            },
        }, TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        using var anonymous = Server.CreateClient();

        var text = await Poll.UntilAsync(
            () => anonymous.GetStringAsync("/metrics"),
            t => System.Text.RegularExpressions.Regex.IsMatch(t, "controlplane_engines_sleeping\\{[^}]*region=\"metrics-sleep-region\"[^}]*\\} 2\n"),
            TimeSpan.FromSeconds(20),
            "the sleeping engines of metrics-sleep-region");

        Assert.Contains("# TYPE controlplane_engines_sleeping gauge", text);
        Assert.Contains("# TYPE controlplane_wakes_total counter", text);
    }

    [Fact]
    public void Banner_SaysStateIsNotDurableAndWhereTheTokenIs()
    {
        Assert.Contains("in memory: nothing survives a restart", Server.Output);
        Assert.Contains("operator token cpop_", Server.Output);
        Assert.Contains("operator-token", Server.Output);
    }
}
