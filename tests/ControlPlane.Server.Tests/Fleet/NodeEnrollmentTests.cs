using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Fleet;

[Collection(EmbeddedServerFixture.CollectionName)]
public sealed class NodeEnrollmentTests(EmbeddedServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Enroll_NewNode_Returns201AndNodeIsEnrolled()
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.PostAsJsonAsync("/admin/v1/nodes", new { nodeId = "enroll-new", region = "us-east", provider = "lambda", ownership = "rented", hourlyCostUsd = "23.92" });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("/admin/v1/nodes/enroll-new", response.Headers.Location?.ToString());
        Assert.Equal("enroll-new", body["nodeId"]!.GetValue<string>());
        Assert.StartsWith("cp1.", body["token"]!.GetValue<string>());

        var node = await admin.GetJsonAsync("/admin/v1/nodes/enroll-new");
        Assert.Equal("enrolled", node["status"]!.GetValue<string>());
        Assert.Equal("us-east", node["region"]!.GetValue<string>());
        Assert.Equal("lambda", node["provider"]!.GetValue<string>());
        Assert.Equal("rented", node["ownership"]!.GetValue<string>());
        Assert.Equal(23.92m, node["hourlyCostUsd"]!.GetValue<decimal>());
        Assert.Equal(0, node["gpuCount"]!.GetValue<int>());
        Assert.Null(node["lastHeartbeatAt"]);
    }

    [Fact]
    public async Task Enroll_ExistingId_Returns409AndKeepsTheFirstEnrollment()
    {
        using var admin = Server.CreateOperatorClient();
        var (_, firstToken) = await admin.EnrollAsync("enroll-twice", cost: 10m);

        using var again = await admin.PostAsJsonAsync("/admin/v1/nodes", new { nodeId = "enroll-twice", region = "eu-west", provider = "own-dc", ownership = "owned", hourlyCostUsd = 99 });

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal(409, (await again.ProblemAsync())["status"]!.GetValue<int>());
        Assert.Equal(10m, (await admin.GetJsonAsync("/admin/v1/nodes/enroll-twice"))["hourlyCostUsd"]!.GetValue<decimal>());
        using var node = Server.CreateClient(firstToken);
        Assert.Equal(HttpStatusCode.OK, (await node.HeartbeatAsync("enroll-twice", 1, ApiClient.Gpus(1))).StatusCode);
    }

    [Fact]
    public async Task Enroll_RetriedWithSameIdempotencyKey_ReturnsTheSameToken()
    {
        using var admin = Server.CreateOperatorClient();
        var body = new { nodeId = "enroll-retry", region = "eu-west", provider = "own-dc", ownership = "owned", hourlyCostUsd = 12.5 };

        async Task<HttpResponseMessage> Send(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/nodes") { Content = JsonContent.Create(body) };
            request.Headers.Add("Idempotency-Key", key);
            return await admin.SendAsync(request);
        }

        using var first = await Send("enroll-retry-1");
        using var retry = await Send("enroll-retry-1");
        using var otherKey = await Send("enroll-retry-2");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(
            JsonNode.Parse(await first.Content.ReadAsStringAsync())!["token"]!.GetValue<string>(),
            JsonNode.Parse(await retry.Content.ReadAsStringAsync())!["token"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Conflict, otherKey.StatusCode);
    }

    [Theory]
    [InlineData("""{"region":"eu-west","provider":"p","ownership":"owned","hourlyCostUsd":1}""", "nodeId")]
    [InlineData("""{"nodeId":"Bad_Id","region":"eu-west","provider":"p","ownership":"owned","hourlyCostUsd":1}""", "nodeId")]
    [InlineData("""{"nodeId":"ok-1","region":"","provider":"p","ownership":"owned","hourlyCostUsd":1}""", "region")]
    [InlineData("""{"nodeId":"ok-2","region":"eu-west","ownership":"owned","hourlyCostUsd":1}""", "provider")]
    [InlineData("""{"nodeId":"ok-3","region":"eu-west","provider":"p","hourlyCostUsd":1}""", "ownership")]
    [InlineData("""{"nodeId":"ok-4","region":"eu-west","provider":"p","ownership":"owned","hourlyCostUsd":-1}""", "hourlyCostUsd")]
    [InlineData("""{"nodeId":"ok-5","region":"eu-west","provider":"p","ownership":"owned"}""", "hourlyCostUsd")]
    public async Task Enroll_InvalidField_Returns400NamingItAndEnrollsNothing(string json, string field)
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.PostAsync("/admin/v1/nodes", new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.ProblemAsync();
        Assert.NotNull(problem["errors"]![field]);
        var nodeId = JsonNode.Parse(json)!["nodeId"]?.GetValue<string>();
        if (nodeId is not null)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/v1/nodes/{nodeId}")).StatusCode);
        }
    }

    [Theory]
    [InlineData("""{"nodeId":"ok-6","region":"eu-west","provider":"p","ownership":"leased","hourlyCostUsd":1}""")]
    [InlineData("""{"nodeId":"ok-7","region":"eu-west","provider":"p","ownership":"owned","hourlyCostUsd":"cheap"}""")]
    [InlineData("""{"nodeId": """)]
    [InlineData("")]
    public async Task Enroll_UnreadableBody_Returns400ProblemDetails(string json)
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.PostAsync("/admin/v1/nodes", new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(400, (await response.ProblemAsync())["status"]!.GetValue<int>());
    }

    [Fact]
    public async Task GetNode_Unknown_Returns404ProblemDetails()
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.GetAsync("/admin/v1/nodes/never-enrolled");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(404, (await response.ProblemAsync())["status"]!.GetValue<int>());
    }
}
