using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace ControlPlane.Server.Tests.Hosting;

/// <summary>Input that would be stored is refused whole, as a 400 ProblemDetails that names the field, and changes nothing.</summary>
[Collection(EmbeddedServerFixture.CollectionName)]
public sealed class RequestInputTests(EmbeddedServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<JsonNode> ExpectBadRequestAsync(HttpResponseMessage response, string field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {text}");
        var problem = await response.ProblemAsync();
        Assert.True(problem["errors"]?[field] is not null, $"no error for '{field}': {text}");
        return problem;
    }

    [Fact]
    public async Task Enroll_DuplicateKey_Is400NamingTheFieldAndEnrollsNothing()
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.PostAsync("/admin/v1/nodes", Json(
            """{"nodeId":"input-dup","region":"eu-west","provider":"own-dc","ownership":"owned","hourlyCostUsd":"1.00","hourlyCostUsd":"0.01"}"""));

        await ExpectBadRequestAsync(response, "hourlyCostUsd");
        using var get = await admin.GetAsync("/admin/v1/nodes/input-dup");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task Deployment_DuplicateKey_Is400NamingTheFieldAndCreatesNothing()
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.PostAsync("/admin/v1/deployments", Json(
            """{"deploymentId":"input-dup","deploymentId":"input-dup-2","model":"m","class":"batch","gpusPerReplica":1,"maxReplicas":1,"tokensPerSecondPerReplica":1}"""));

        await ExpectBadRequestAsync(response, "deploymentId");
        foreach (var id in new[] { "input-dup", "input-dup-2" })
        {
            using var get = await admin.GetAsync($"/admin/v1/deployments/{id}");
            Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        }
    }

    [Fact]
    public async Task Heartbeat_DuplicateKeyInANestedObject_Is400NamingTheField()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("input-dup-hb");
        using var node = Server.CreateClient(token);
        using var response = await node.PostAsync($"/agent/v1/nodes/{nodeId}/heartbeat", Json(
            """{"sequence":1,"agentSessionId":"s","agentVersion":"t","gpus":[{"index":0,"uuid":"GPU-1","uuid":"GPU-2","name":"NVIDIA H100 80GB HBM3","memoryTotalMiB":81559}],"replicas":[]}"""));

        await ExpectBadRequestAsync(response, "gpus[0].uuid");
        Assert.Equal(0, (await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"))["gpuCount"]!.GetValue<int>());
    }
}
