using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ControlPlane.Server.Tests.Hosting;

/// <summary>Small JSON helpers over the HTTP API, as a client would call it.</summary>
public static class ApiClient
{
    public static async Task<(string NodeId, string Token)> EnrollAsync(this HttpClient operatorClient, string nodeId, string region = "eu-west", string ownership = "owned", decimal cost = 24.5m)
    {
        using var response = await operatorClient.PostAsJsonAsync("/admin/v1/nodes", new { nodeId, region, provider = "own-dc", ownership, hourlyCostUsd = cost });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, $"enroll {nodeId}: {(int)response.StatusCode} {body}");
        var json = JsonNode.Parse(body)!;
        return (json["nodeId"]!.GetValue<string>(), json["token"]!.GetValue<string>());
    }

    public static object Gpu(int index, string name = "NVIDIA H100 80GB HBM3", long memory = 81559, long? ecc = 0) => new
    {
        index,
        uuid = $"GPU-{index:D8}-0000-0000-0000-000000000000",
        name,
        memoryTotalMiB = memory,
        memoryUsedMiB = 0,
        utilizationPercent = 0,
        temperatureC = 35,
        powerWatts = 70.5,
        eccUncorrected = ecc,
    };

    public static object[] Gpus(int count, string name = "NVIDIA H100 80GB HBM3", long memory = 81559) =>
        Enumerable.Range(0, count).Select(i => Gpu(i, name, memory)).ToArray();

    public static Task<HttpResponseMessage> HeartbeatAsync(this HttpClient nodeClient, string nodeId, long sequence, object[] gpus, string session = "session-1") =>
        nodeClient.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new { sequence, agentSessionId = session, agentVersion = "test", gpus, replicas = Array.Empty<object>() });

    public static async Task<JsonNode> GetJsonAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    public static async Task<string> NodeStatusAsync(this HttpClient operatorClient, string nodeId) =>
        (await operatorClient.GetJsonAsync($"/admin/v1/nodes/{nodeId}"))["status"]!.GetValue<string>();

    /// <summary>Polls a node's status until it reads <paramref name="final"/>; returns each distinct status seen, in order.</summary>
    public static async Task<List<string>> WatchStatusUntilAsync(this HttpClient operatorClient, string nodeId, string final, TimeSpan timeout)
    {
        var seen = new List<string>();
        await Poll.UntilAsync(
            async () =>
            {
                var status = await operatorClient.NodeStatusAsync(nodeId);
                if (seen.Count == 0 || seen[^1] != status)
                {
                    seen.Add(status);
                }

                return status;
            },
            status => status == final,
            timeout,
            $"node {nodeId} to be {final}");
        return seen;
    }

    public static async Task<JsonNode> ProblemAsync(this HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    public static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
}
