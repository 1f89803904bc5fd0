using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Deployments.LiquidCapacityTests;

namespace ControlPlane.Server.Tests.Deployments;

/// <summary>Bad input gets a 4xx ProblemDetails that names the field, and changes nothing.</summary>
[Collection(CapacityServerFixture.CollectionName)]
public sealed class DeploymentRequestTests(CapacityServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    public static TheoryData<string, string> InvalidCreates => new()
    {
        { """{"deploymentId":"bad-1","model":"m","class":"gold","gpusPerReplica":1,"maxReplicas":1,"tokensPerSecondPerReplica":1}""", "class" },
        { """{"deploymentId":"bad-2","model":"m","class":"batch","maxReplicas":1,"tokensPerSecondPerReplica":1}""", "gpusPerReplica" },
        { """{"deploymentId":"bad-3","model":"m","class":"dedicated","gpusPerReplica":1,"maxReplicas":1,"tokensPerSecondPerReplica":1}""", "customerId" },
        { """{"deploymentId":"bad-4","model":"m","class":"batch","customerId":"acme","gpusPerReplica":1,"maxReplicas":1,"tokensPerSecondPerReplica":1}""", "customerId" },
        { """{"deploymentId":"bad-5","model":"m","class":"batch","gpusPerReplica":1,"maxReplicas":1,"reservedReplicas":1,"tokensPerSecondPerReplica":1}""", "reservedReplicas" },
        { """{"deploymentId":"bad 6","model":"m","class":"batch","gpusPerReplica":1,"maxReplicas":1,"tokensPerSecondPerReplica":1}""", "deploymentId" },
        { """{"deploymentId":"bad-7","model":"m","class":"batch","gpusPerReplica":1,"minReplicas":3,"maxReplicas":2,"tokensPerSecondPerReplica":1}""", "minReplicas" },
        { """{"deploymentId":"bad-8","model":"m","class":"batch","gpusPerReplica":1,"maxReplicas":1,"tokensPerSecondPerReplica":0}""", "tokensPerSecondPerReplica" },
        { """{"deploymentId":"bad-9","model":"m","class":"batch","gpusPerReplica":1,"maxReplicas":1,"skus":[],"tokensPerSecondPerReplica":1}""", "skus" },
        { """{"deploymentId":"bad-10","model":"m","class":"batch","gpusPerReplica":1,"maxReplicas":1,"tokensPerSecondPerReplica":1,"image":"vllm serve; rm -rf /"}""", "image" },
        { """{"deploymentId":"bad-11","model":"m","class":"batch","gpusPerReplica":1,"maxReplicas":1,"tokensPerSecondPerReplica":1,"image":""}""", "image" },
    };

    [Theory]
    [MemberData(nameof(InvalidCreates))]
    public async Task Create_InvalidSpec_Returns400NamingTheFieldAndCreatesNothing(string body, string field)
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.PostAsync("/admin/v1/deployments", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((await response.ProblemAsync())["errors"]![field]);
        var id = JsonNode.Parse(body)!["deploymentId"]!.GetValue<string>();
        using var get = await admin.GetAsync($"/admin/v1/deployments/{Uri.EscapeDataString(id)}");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task Create_Again_SameSpecIsASuccessAndAnotherSpecIs409()
    {
        using var admin = Server.CreateOperatorClient();
        await CreateAsync(admin, Batch("req-again", "req-none", max: 2));
        await CreateAsync(admin, Batch("req-again", "req-none", max: 2));

        using var other = await admin.PostAsJsonAsync("/admin/v1/deployments", Batch("req-again", "req-none", max: 3));
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        Assert.Equal(2, (await GetAsync(admin, "req-again"))["maxReplicas"]!.GetValue<int>());
    }

    [Fact]
    public async Task Delete_RemovesTheDeploymentAndASecondDeleteIs404()
    {
        using var admin = Server.CreateOperatorClient();
        await CreateAsync(admin, Batch("req-delete", "req-none", max: 2));

        using (var deleted = await admin.DeleteAsync("/admin/v1/deployments/req-delete"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        using var again = await admin.DeleteAsync("/admin/v1/deployments/req-delete");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        var list = await admin.GetJsonAsync("/admin/v1/deployments");
        Assert.DoesNotContain(list.AsArray(), d => d!["deploymentId"]!.GetValue<string>() == "req-delete");
    }

    [Fact]
    public async Task Image_OfTheDeployment_ReachesTheAgentInTheDesiredListAndAMigrationChangesIt()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("req-image-node", "req-image");
        using var node = Server.CreateClient(token);
        using (var first = await node.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(8)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        await CreateAsync(admin, new
        {
            deploymentId = "req-image", model = "llama-3-8b", @class = "batch", gpusPerReplica = 1, regions = new[] { "req-image" },
            minReplicas = 1, maxReplicas = 1, tokensPerSecondPerReplica = 100, image = "registry.example.net/vllm/vllm-openai:v0.11.0",
        });
        Assert.Equal("registry.example.net/vllm/vllm-openai:v0.11.0", (await GetAsync(admin, "req-image"))["image"]!.GetValue<string>());

        var sequence = 1L;
        var desired = await Poll.UntilAsync(
            async () =>
            {
                using var response = await node.HeartbeatAsync(nodeId, ++sequence, ApiClient.Gpus(8));
                return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["desired"]!.AsArray();
            },
            d => d.Count == 1,
            TimeSpan.FromSeconds(30),
            "the replica in the node's desired list");
        Assert.Equal("registry.example.net/vllm/vllm-openai:v0.11.0", desired[0]!["image"]!.GetValue<string>());

        using (var migrated = await admin.PostAsJsonAsync("/admin/v1/deployments/req-image/migrate", new { image = "registry.example.net/vllm/vllm-openai:v0.12.0" }))
        {
            Assert.Equal(HttpStatusCode.OK, migrated.StatusCode);
        }

        var after = await GetAsync(admin, "req-image");
        Assert.Equal("registry.example.net/vllm/vllm-openai:v0.12.0", after["image"]!.GetValue<string>());
        Assert.Equal(2, after["generation"]!.GetValue<int>());

        using var bad = await admin.PostAsJsonAsync("/admin/v1/deployments/req-image/migrate", new { image = "not an image" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.NotNull((await bad.ProblemAsync())["errors"]!["image"]);
        Assert.Equal(2, (await GetAsync(admin, "req-image"))["generation"]!.GetValue<int>());
    }

    [Fact]
    public async Task Create_WithoutImage_ShowsNone()
    {
        using var admin = Server.CreateOperatorClient();
        await CreateAsync(admin, Batch("req-no-image", "req-none", max: 1));

        Assert.Null((await GetAsync(admin, "req-no-image"))["image"]);
    }

    [Fact]
    public async Task Migrate_WithNothingToChange_Is400AndUnknownIs404()
    {
        using var admin = Server.CreateOperatorClient();
        await CreateAsync(admin, Batch("req-migrate", "req-none", max: 2));

        using (var empty = await admin.PostAsJsonAsync("/admin/v1/deployments/req-migrate/migrate", new { }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        }

        using (var bad = await admin.PostAsJsonAsync("/admin/v1/deployments/req-migrate/migrate", new { gpusPerReplica = 0 }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.NotNull((await bad.ProblemAsync())["errors"]!["gpusPerReplica"]);
        }

        using var missing = await admin.PostAsJsonAsync("/admin/v1/deployments/req-nothing/migrate", new { model = "x" });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(1, (await GetAsync(admin, "req-migrate"))["generation"]!.GetValue<int>());
    }

    [Fact]
    public async Task Demand_BadInput_Is4xxAndRecordsNothing()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        await CreateAsync(admin, Batch("req-demand", "req-none", max: 2));

        async Task ExpectAsync(HttpClient client, object body, HttpStatusCode status)
        {
            using var response = await client.PostAsJsonAsync("/gateway/v1/demand", body);
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        await ExpectAsync(admin, new { deploymentId = "req-demand", tokensPerSecond = 5 }, HttpStatusCode.Forbidden);
        await ExpectAsync(gateway, new { deploymentId = "req-demand", tokensPerSecond = -1 }, HttpStatusCode.BadRequest);
        await ExpectAsync(gateway, new { deploymentId = "req-demand", tokensPerSecond = 5, signals = Array.Empty<object>() }, HttpStatusCode.BadRequest);
        await ExpectAsync(gateway, new { signals = new object[] { new { deploymentId = "req-demand", tokensPerSecond = 5 }, new { deploymentId = "req-demand", tokensPerSecond = 6 } } }, HttpStatusCode.BadRequest);
        await ExpectAsync(gateway, new { signals = new object[] { new { deploymentId = "req-demand", tokensPerSecond = 5 }, new { deploymentId = "req-demand2" } } }, HttpStatusCode.BadRequest);
        await ExpectAsync(gateway, new { deploymentId = "req-unknown", tokensPerSecond = 5 }, HttpStatusCode.NotFound);

        Assert.Equal(0m, (await GetAsync(admin, "req-demand"))["demandTokensPerSecond"]!.GetValue<decimal>());

        using var batch = await gateway.PostAsJsonAsync("/gateway/v1/demand", new { signals = new object[] { new { deploymentId = "req-demand", tokensPerSecond = 7 }, new { deploymentId = "req-gone", tokensPerSecond = 1 } } });
        var body = await batch.Content.ReadFromJsonAsync<JsonNode>();
        Assert.Equal(1, body!["accepted"]!.GetValue<int>());
        Assert.Equal("req-gone", body["unknownDeployments"]![0]!.GetValue<string>());
        Assert.Equal(7m, (await GetAsync(admin, "req-demand"))["demandTokensPerSecond"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Endpoints_UnknownDeploymentIs404AndAnOperatorTokenIs403()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);

        using (var unknown = await gateway.GetAsync("/gateway/v1/deployments/req-nope/endpoints"))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        using var forbidden = await admin.GetAsync("/gateway/v1/deployments/req-nope/endpoints");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }
}
