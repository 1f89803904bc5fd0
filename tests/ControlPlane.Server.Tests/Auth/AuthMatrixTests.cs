using System.Net;
using System.Net.Http.Json;
using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Auth;

[Collection(EmbeddedServerFixture.CollectionName)]
public sealed class AuthMatrixTests(EmbeddedServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task AdminApi_NoToken_Returns401ProblemDetails()
    {
        using var anonymous = Server.CreateClient();
        using var response = await anonymous.GetAsync("/admin/v1/nodes");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(401, (await response.ProblemAsync())["status"]!.GetValue<int>());
    }

    [Fact]
    public async Task AdminApi_NoToken_ChallengesForABearerToken()
    {
        using var anonymous = Server.CreateClient();
        using var response = await anonymous.GetAsync("/admin/v1/nodes");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).ToString());
    }

    [Theory]
    [InlineData("Bearer not-a-token-at-all", "invalid_token")]
    [InlineData("Basic dXNlcjpwYXNz", "invalid_request")]
    public async Task AdminApi_InvalidCredentials_ChallengeNamesTheError(string authorization, string error)
    {
        using var client = Server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/nodes");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.StartsWith($"error=\"{error}\", error_description=\"", challenge.Parameter, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-a-token-at-all")]
    [InlineData("cp1.eyJyIjoib3BlcmF0b3IiLCJzIjoieCIsImkiOiJ4IiwidCI6MH0.AAAA")]
    public async Task AdminApi_UnknownOrForgedToken_Returns401(string token)
    {
        using var client = Server.CreateClient(token);
        using var response = await client.GetAsync("/admin/v1/nodes");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task AdminApi_NodeToken_Returns403()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("auth-node-admin");
        using var node = Server.CreateClient(token);

        using var list = await node.GetAsync("/admin/v1/nodes");
        using var enroll = await node.PostAsJsonAsync("/admin/v1/nodes", new { nodeId = "sneaky", region = "eu-west", provider = "x", ownership = "owned", hourlyCostUsd = 1 });

        Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, enroll.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/admin/v1/nodes/sneaky")).StatusCode);
        _ = nodeId;
    }

    [Fact]
    public async Task Heartbeat_NoToken_Returns401()
    {
        using var anonymous = Server.CreateClient();
        using var response = await anonymous.HeartbeatAsync("auth-any", 1, ApiClient.Gpus(1));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Heartbeat_OperatorToken_Returns403()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, _) = await admin.EnrollAsync("auth-node-operator");

        using var response = await admin.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(1));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Heartbeat_AnotherNodesToken_Returns403AndChangesNothing()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeA, tokenA) = await admin.EnrollAsync("auth-node-a");
        var (nodeB, _) = await admin.EnrollAsync("auth-node-b");
        using var clientA = Server.CreateClient(tokenA);

        using var response = await clientA.HeartbeatAsync(nodeB, 1, ApiClient.Gpus(8));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains(nodeA, (await response.ProblemAsync())["detail"]!.GetValue<string>());
        Assert.Equal("enrolled", await admin.NodeStatusAsync(nodeB));
    }

    [Fact]
    public async Task Heartbeat_OwnToken_Returns200WithInterval()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("auth-node-own");
        using var node = Server.CreateClient(token);

        using var response = await node.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(1));
        var body = await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, body!["heartbeatIntervalSeconds"]!.GetValue<int>());
        Assert.Empty(body["desired"]!.AsArray());
    }

    [Fact]
    public async Task Heartbeat_TamperedTokenSubject_Returns401()
    {
        using var admin = Server.CreateOperatorClient();
        var (_, token) = await admin.EnrollAsync("auth-node-tamper");
        var parts = token.Split('.');
        var payload = System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]))
            .Replace("auth-node-tamper", "auth-node-other", StringComparison.Ordinal);
        var forged = $"{parts[0]}.{System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(payload))}.{parts[2]}";
        using var node = Server.CreateClient(forged);

        using var response = await node.HeartbeatAsync("auth-node-other", 1, ApiClient.Gpus(1));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Heartbeat_TokenWithAnotherTokenId_Returns401WithChallenge()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, _) = await admin.EnrollAsync("auth-node-replaced");
        // Signed with the server's own key (derived from its bootstrap token), but not the node's current token id.
        var stale = new ControlPlane.Server.Auth.TokenService(Server.OperatorToken, null, "controlplane")
            .Issue(ControlPlane.Server.Auth.Roles.Node, nodeId, "not-the-current-id", DateTimeOffset.UnixEpoch);
        using var node = Server.CreateClient(stale);

        using var response = await node.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(1));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("The token was replaced.", (await response.ProblemAsync())["title"]!.GetValue<string>());
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.StartsWith("error=\"invalid_token\"", challenge.Parameter, StringComparison.Ordinal);
    }
}
