using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Deployments;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Fleet;

/// <summary>
/// A node whose agent cannot read its GPUs (nvidia-smi fails) but keeps heartbeating: it is heard, so it stays
/// <c>ready</c> (its replicas keep running and routing, as a Kubernetes node whose device plugin fails stays Ready), but
/// none of its GPUs is vouched for, so it shows 0 healthy GPUs and its error, and takes no new replica until the
/// readings come back.
/// </summary>
[Collection(CapacityServerFixture.CollectionName)]
public sealed class UnreadableGpuTests(CapacityServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task NvidiaSmiFails_NodeStaysReadyWithNoHealthyGpuAndTakesNoReplicaUntilItsReadingsReturn()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("smi-fails-node", "smi-fails");
        using var node = Server.CreateClient(token);
        var sequence = 1L;
        Assert.Equal(HttpStatusCode.OK, (await node.HeartbeatAsync(nodeId, sequence, ApiClient.Gpus(8))).StatusCode);
        Assert.Empty(await FailingHeartbeatAsync(node, nodeId, ++sequence));

        await LiquidCapacityTests.CreateAsync(admin, new
        {
            deploymentId = "smi-fails-batch", model = "llama-3-8b", @class = "batch", gpusPerReplica = 1, regions = new[] { "smi-fails" },
            minReplicas = 1, maxReplicas = 1, tokensPerSecondPerReplica = 100,
        });

        // The scheduler retries a deficit every second (Capacity:ReconcileSeconds): five heartbeats a second apart give it
        // that many chances to place on the node.
        for (var i = 0; i < 5; i++)
        {
            Assert.Empty(await FailingHeartbeatAsync(node, nodeId, ++sequence));
            await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        }

        var view = await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}");
        Assert.Equal("ready", view["status"]!.GetValue<string>());
        Assert.Equal(0, view["healthyGpuCount"]!.GetValue<int>());
        Assert.Contains("nvidia-smi", view["inventoryError"]!.GetValue<string>());
        var pool = (await admin.GetJsonAsync("/admin/v1/pools")).AsArray().Single(p => p!["region"]!.GetValue<string>() == "smi-fails")!;
        Assert.Equal(0, pool["gpusHealthy"]!.GetValue<int>());
        Assert.Empty((await admin.GetJsonAsync("/admin/v1/deployments/smi-fails-batch"))["replicas"]!.AsArray());

        // The readings come back: the replica is placed there.
        await Poll.UntilAsync(
            async () =>
            {
                using var response = await node.HeartbeatAsync(nodeId, ++sequence, ApiClient.Gpus(8));
                return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["desired"]!.AsArray().Count;
            },
            count => count == 1,
            TimeSpan.FromSeconds(30),
            "the replica placed once the node reads its GPUs again");
    }

    private static async Task<JsonArray> FailingHeartbeatAsync(HttpClient node, string nodeId, long sequence)
    {
        using var response = await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new
        {
            sequence,
            agentSessionId = "session-1",
            inventoryError = "nvidia-smi failed: exit code 9 (NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver)",
            gpus = Array.Empty<object>(),
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["desired"]!.AsArray();
    }
}
