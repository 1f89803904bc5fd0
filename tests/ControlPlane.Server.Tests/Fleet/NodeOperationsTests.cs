using System.Net;
using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Fleet;

[Collection(EmbeddedServerFixture.CollectionName)]
public sealed class NodeOperationsTests(EmbeddedServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task CordonDrainUncordon_ChangeStatusWhileTheNodeHeartbeats()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("ops-cordon");
        using var node = Server.CreateClient(token);
        await node.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(8));

        Assert.Equal("cordoned", (await PostJsonAsync(admin, $"/admin/v1/nodes/{nodeId}/cordon"))["status"]!.GetValue<string>());
        await node.HeartbeatAsync(nodeId, 2, ApiClient.Gpus(8));
        Assert.Equal("cordoned", await admin.NodeStatusAsync(nodeId));
        Assert.Equal("draining", (await PostJsonAsync(admin, $"/admin/v1/nodes/{nodeId}/drain"))["status"]!.GetValue<string>());
        Assert.Equal("ready", (await PostJsonAsync(admin, $"/admin/v1/nodes/{nodeId}/uncordon"))["status"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("cordon")]
    [InlineData("uncordon")]
    [InlineData("drain")]
    public async Task Operation_UnknownNode_Returns404(string operation)
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.PostAsync($"/admin/v1/nodes/ops-missing/{operation}", null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task ListNodes_FiltersByRegionAndStatus()
    {
        using var admin = Server.CreateOperatorClient();
        var (readyId, token) = await admin.EnrollAsync("ops-list-ready", region: "list-region");
        var (enrolledId, _) = await admin.EnrollAsync("ops-list-enrolled", region: "list-region");
        await admin.EnrollAsync("ops-list-elsewhere", region: "other-list-region");
        using var node = Server.CreateClient(token);
        await node.HeartbeatAsync(readyId, 1, ApiClient.Gpus(4));

        var inRegion = (await admin.GetJsonAsync("/admin/v1/nodes?region=list-region")).AsArray().Select(n => n!["nodeId"]!.GetValue<string>()).ToArray();
        var ready = (await admin.GetJsonAsync("/admin/v1/nodes?region=list-region&status=ready")).AsArray().Select(n => n!["nodeId"]!.GetValue<string>()).ToArray();

        Assert.Equal([enrolledId, readyId], inRegion.Order());
        Assert.Equal([readyId], ready);
    }

    [Theory]
    [InlineData("?status=sleeping")]
    [InlineData("?status=1")]
    [InlineData("?region=NOT%20VALID")]
    public async Task ListNodes_InvalidFilter_Returns400(string query)
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.GetAsync("/admin/v1/nodes" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Pools_CountGpusByRegionAndSku()
    {
        using var admin = Server.CreateOperatorClient();
        var (h100, h100Token) = await admin.EnrollAsync("ops-pool-h100", region: "pool-region");
        var (h200, h200Token) = await admin.EnrollAsync("ops-pool-h200", region: "pool-region");
        await admin.EnrollAsync("ops-pool-silent", region: "pool-region");
        using (var node = Server.CreateClient(h100Token))
        {
            await node.HeartbeatAsync(h100, 1, ApiClient.Gpus(8));
        }

        using (var node = Server.CreateClient(h200Token))
        {
            await node.HeartbeatAsync(h200, 1, ApiClient.Gpus(4, "NVIDIA H200", 143771));
        }

        var pool = (await admin.GetJsonAsync("/admin/v1/pools")).AsArray().Single(p => p!["region"]!.GetValue<string>() == "pool-region")!;

        Assert.Equal(12, pool["gpusTotal"]!.GetValue<int>());
        Assert.Equal(12, pool["gpusHealthy"]!.GetValue<int>());
        Assert.Equal(1, pool["nodesByStatus"]!["enrolled"]!.GetValue<int>());
        var skus = pool["skus"]!.AsArray().ToDictionary(s => s!["sku"]!.GetValue<string>(), s => s!["gpusTotal"]!.GetValue<int>());
        Assert.Equal(new Dictionary<string, int> { ["h100-sxm-80gb"] = 8, ["h200-141gb"] = 4 }, skus);
    }

    private static async Task<System.Text.Json.Nodes.JsonNode> PostJsonAsync(HttpClient client, string path)
    {
        using var response = await client.PostAsync(path, null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {body}");
        return System.Text.Json.Nodes.JsonNode.Parse(body)!;
    }
}
