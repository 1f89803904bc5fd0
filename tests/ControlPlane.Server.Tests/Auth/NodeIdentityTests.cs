using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Cluster;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Auth;

/// <summary>
/// One identity per node: a join token enrols nodes (and does nothing else), each node gets its own token, and an
/// operator can rotate or revoke a node's token.
/// </summary>
[Collection(EmbeddedServerFixture.CollectionName)]
public sealed class NodeIdentityTests(EmbeddedServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task JoinToken_EnrolsTheNodeOnItsTerms_AndTheNodeTokenHeartbeats()
    {
        using var admin = Server.CreateOperatorClient();
        var join = await IssueJoinTokenAsync(admin, new JsonObject { ["region"] = "join-west", ["provider"] = "lambda", ["ownership"] = "rented", ["hourlyCostUsd"] = 23.5m });
        Assert.Equal((1, 0, "active"), (join["maxUses"]!.GetValue<int>(), join["uses"]!.GetValue<int>(), Text(join, "state")));

        using var agent = Server.CreateClient(Text(join, "token"));
        var enrolled = await EnrolAsync(agent, "join-node-1");
        using var node = Server.CreateClient(Text(enrolled, "token"));
        using (var beat = await node.HeartbeatAsync("join-node-1", 1, ApiClient.Gpus(2)))
        {
            Assert.Equal(HttpStatusCode.OK, beat.StatusCode);
        }

        var view = await admin.GetJsonAsync("/admin/v1/nodes/join-node-1");
        Assert.Equal(("join-west", "lambda", "rented", 23.5m), (Text(view, "region"), Text(view, "provider"), Text(view, "ownership"), view["hourlyCostUsd"]!.GetValue<decimal>()));
    }

    [Fact]
    public async Task JoinToken_IsRefusedEverywhereButEnrolment()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, _) = await admin.EnrollAsync("join-refused-target");
        var join = await IssueJoinTokenAsync(admin, new JsonObject { ["region"] = "eu-west", ["provider"] = "own-dc", ["ownership"] = "owned", ["hourlyCostUsd"] = 1 });
        using var agent = Server.CreateClient(Text(join, "token"));

        (HttpMethod Method, string Path, object? Body)[] calls =
        [
            (HttpMethod.Post, $"/agent/v1/nodes/{nodeId}/heartbeat", new { sequence = 1, gpus = Array.Empty<object>() }),
            (HttpMethod.Get, "/admin/v1/nodes", null),
            (HttpMethod.Post, "/admin/v1/join-tokens", new { region = "eu-west", provider = "x", ownership = "owned", hourlyCostUsd = 1 }),
            (HttpMethod.Post, $"/admin/v1/nodes/{nodeId}/token", null),
            (HttpMethod.Post, "/admin/v1/tokens", new { role = "gateway" }),
            (HttpMethod.Get, "/v1/contracts", null),
            (HttpMethod.Get, "/gateway/v1/deployments/any/endpoints", null),
        ];
        foreach (var (method, path, body) in calls)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            using var response = await agent.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method} {path}: {(int)response.StatusCode}");
        }

        // Nothing it tried was done: the join token is still unused.
        Assert.Equal(0, (await JoinTokenAsync(admin, Text(join, "tokenId")))["uses"]!.GetValue<int>());
    }

    [Fact]
    public async Task JoinToken_RetryWithSameKeyCountsOnce_ThenItIsUsedUp()
    {
        using var admin = Server.CreateOperatorClient();
        var join = await IssueJoinTokenAsync(admin, new JsonObject { ["region"] = "eu-west", ["provider"] = "own-dc", ["ownership"] = "owned", ["hourlyCostUsd"] = 2 });
        using var agent = Server.CreateClient(Text(join, "token"));

        var first = await EnrolAsync(agent, "join-once-a", "key-1");
        var retried = await EnrolAsync(agent, "join-once-a", "key-1");
        Assert.Equal(Text(first, "token"), Text(retried, "token"));

        using (var second = await PostEnrolAsync(agent, "join-once-b", "key-2"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
            Assert.Equal("The join token is used up.", Text(await second.ProblemAsync(), "title"));
        }

        using (var missing = await admin.GetAsync("/admin/v1/nodes/join-once-b"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        var listed = await JoinTokenAsync(admin, Text(join, "tokenId"));
        Assert.Equal((1, "used-up"), (listed["uses"]!.GetValue<int>(), Text(listed, "state")));
        Assert.Equal(["join-once-a"], listed["nodes"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Null(listed["token"]);
    }

    [Fact]
    public async Task JoinToken_WithMaxUses_EnrolsThatManyNodes_AndOnlyWithItsPrefix()
    {
        using var admin = Server.CreateOperatorClient();
        var join = await IssueJoinTokenAsync(admin, new JsonObject
        {
            ["region"] = "eu-west", ["provider"] = "own-dc", ["ownership"] = "owned", ["hourlyCostUsd"] = 2, ["maxUses"] = 2, ["nodeIdPrefix"] = "gpu-rack7-",
        });
        using var agent = Server.CreateClient(Text(join, "token"));

        using (var other = await PostEnrolAsync(agent, "gpu-rack8-01", null))
        {
            Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
            Assert.Equal("The join token is not for this node.", Text(await other.ProblemAsync(), "title"));
        }

        await EnrolAsync(agent, "gpu-rack7-01");
        await EnrolAsync(agent, "gpu-rack7-02");
        using (var third = await PostEnrolAsync(agent, "gpu-rack7-03", null))
        {
            Assert.Equal(HttpStatusCode.Forbidden, third.StatusCode);
        }

        Assert.Equal(2, (await JoinTokenAsync(admin, Text(join, "tokenId")))["uses"]!.GetValue<int>());
    }

    [Fact]
    public async Task JoinToken_RevokedOrExpired_IsRefused()
    {
        using var admin = Server.CreateOperatorClient();
        var revoked = await IssueJoinTokenAsync(admin, new JsonObject { ["region"] = "eu-west", ["provider"] = "own-dc", ["ownership"] = "owned", ["hourlyCostUsd"] = 2, ["maxUses"] = 5 });
        using (var revoke = await admin.DeleteAsync($"/admin/v1/join-tokens/{Text(revoked, "tokenId")}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
            Assert.Equal("revoked", Text(JsonNode.Parse(await revoke.Content.ReadAsStringAsync())!, "state"));
        }

        using (var agent = Server.CreateClient(Text(revoked, "token")))
        using (var refused = await PostEnrolAsync(agent, "join-revoked-1", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // Revoked as any issued token (DELETE /admin/v1/tokens/{id}): refused, and listed as revoked.
        var viaTokens = await IssueJoinTokenAsync(admin, new JsonObject { ["region"] = "eu-west", ["provider"] = "own-dc", ["ownership"] = "owned", ["hourlyCostUsd"] = 2 });
        using (var revoke = await admin.DeleteAsync($"/admin/v1/tokens/{Text(viaTokens, "tokenId")}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }

        using (var agent = Server.CreateClient(Text(viaTokens, "token")))
        using (var refused = await PostEnrolAsync(agent, "join-revoked-2", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        Assert.Equal("revoked", Text(await JoinTokenAsync(admin, Text(viaTokens, "tokenId")), "state"));

        var expiring = await IssueJoinTokenAsync(admin, new JsonObject { ["region"] = "eu-west", ["provider"] = "own-dc", ["ownership"] = "owned", ["hourlyCostUsd"] = 2, ["expiresInSeconds"] = 2 });
        using var late = Server.CreateClient(Text(expiring, "token"));
        var status = await Poll.UntilAsync(
            async () =>
            {
                // The first try enrols the probe node, later ones find it enrolled (409) until the token expires (401).
                using var response = await late.PostAsJsonAsync("/agent/v1/enrol", new { nodeId = "join-expired-probe" });
                return response.StatusCode;
            },
            s => s == HttpStatusCode.Unauthorized,
            TimeSpan.FromSeconds(30),
            "the join token to expire");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("expired", Text(await JoinTokenAsync(admin, Text(expiring, "tokenId")), "state"));
    }

    [Fact]
    public async Task NodeToken_OfNodeA_IsRefusedForNodeB()
    {
        using var admin = Server.CreateOperatorClient();
        var join = await IssueJoinTokenAsync(admin, new JsonObject { ["region"] = "eu-west", ["provider"] = "own-dc", ["ownership"] = "owned", ["hourlyCostUsd"] = 2, ["maxUses"] = 2 });
        using var agent = Server.CreateClient(Text(join, "token"));
        var a = await EnrolAsync(agent, "ident-node-a");
        await EnrolAsync(agent, "ident-node-b");

        using var nodeA = Server.CreateClient(Text(a, "token"));
        using var forB = await nodeA.HeartbeatAsync("ident-node-b", 1, ApiClient.Gpus(1));
        Assert.Equal(HttpStatusCode.Forbidden, forB.StatusCode);

        // Nor can a node token enrol anything.
        using var enrol = await PostEnrolAsync(nodeA, "ident-node-c", null);
        Assert.Equal(HttpStatusCode.Forbidden, enrol.StatusCode);
    }

    [Fact]
    public async Task RotateNodeToken_OldRefusedNewWorks_EvenForANodeEnrolledWithoutAKey()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, oldToken) = await admin.EnrollAsync("ident-rotate");

        using var rotate = await admin.PostAsync($"/admin/v1/nodes/{nodeId}/token", null);
        Assert.Equal(HttpStatusCode.OK, rotate.StatusCode);
        var newToken = Text(JsonNode.Parse(await rotate.Content.ReadAsStringAsync())!, "token");
        Assert.NotEqual(oldToken, newToken);

        using var oldClient = Server.CreateClient(oldToken);
        using (var refused = await oldClient.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(1)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var newClient = Server.CreateClient(newToken);
        using var accepted = await newClient.HeartbeatAsync(nodeId, 2, ApiClient.Gpus(1));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task RevokeNodeToken_RefusedUntilItsAgentEnrolsAgainWithAJoinTokenOfItsRegion()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("ident-revoke", region: "eu-west");
        using (var revoke = await admin.DeleteAsync($"/admin/v1/nodes/{nodeId}/token"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }

        using var old = Server.CreateClient(token);
        using (var refused = await old.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(1)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // A join token of another region cannot take the node; one of its own region gives it a new token.
        var elsewhere = await IssueJoinTokenAsync(admin, new JsonObject { ["region"] = "us-east", ["provider"] = "own-dc", ["ownership"] = "owned", ["hourlyCostUsd"] = 2 });
        using (var wrongRegion = Server.CreateClient(Text(elsewhere, "token")))
        using (var conflict = await PostEnrolAsync(wrongRegion, nodeId, null))
        {
            Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        }

        var join = await IssueJoinTokenAsync(admin, new JsonObject { ["region"] = "eu-west", ["provider"] = "own-dc", ["ownership"] = "owned", ["hourlyCostUsd"] = 2 });
        using var agent = Server.CreateClient(Text(join, "token"));
        var again = await EnrolAsync(agent, nodeId);
        using var renewed = Server.CreateClient(Text(again, "token"));
        using (var accepted = await renewed.HeartbeatAsync(nodeId, 2, ApiClient.Gpus(1)))
        {
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        // With a working token the node is not taken over by another join token of its region.
        var another = await IssueJoinTokenAsync(admin, new JsonObject { ["region"] = "eu-west", ["provider"] = "own-dc", ["ownership"] = "owned", ["hourlyCostUsd"] = 2 });
        using var thief = Server.CreateClient(Text(another, "token"));
        using var takeover = await PostEnrolAsync(thief, nodeId, null);
        Assert.Equal(HttpStatusCode.Conflict, takeover.StatusCode);
        Assert.Equal(0, (await JoinTokenAsync(admin, Text(another, "tokenId")))["uses"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("""{"provider":"own-dc","ownership":"owned","hourlyCostUsd":1}""", "region")]
    [InlineData("""{"region":"eu-west","provider":"own-dc","ownership":"owned","hourlyCostUsd":1,"maxUses":0}""", "maxUses")]
    [InlineData("""{"region":"eu-west","provider":"own-dc","ownership":"owned","hourlyCostUsd":1,"nodeIdPrefix":"UPPER"}""", "nodeIdPrefix")]
    [InlineData("""{"region":"eu-west","provider":"own-dc","ownership":"owned","hourlyCostUsd":1,"expiresInSeconds":0}""", "expiresInSeconds")]
    [InlineData("""{"region":"eu-west","provider":"own-dc","ownership":"owned","hourlyCostUsd":-1}""", "hourlyCostUsd")]
    public async Task IssueJoinToken_BadInput_Returns400AndIssuesNothing(string body, string field)
    {
        using var admin = Server.CreateOperatorClient();
        var before = (await admin.GetJsonAsync("/admin/v1/join-tokens")).AsArray().Count;

        using var response = await admin.PostAsync("/admin/v1/join-tokens", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, (await response.ProblemAsync())["errors"]!.AsObject().Select(e => e.Key));
        Assert.True((await admin.GetJsonAsync("/admin/v1/join-tokens")).AsArray().Count <= before);
    }

    [Theory]
    [InlineData("Not_A_Node", null, "nodeId")]
    [InlineData("", null, "nodeId")]
    [InlineData("ident-bad-key", "", "Idempotency-Key")]
    public async Task Enrol_BadInput_Returns400AndCountsNoUse(string nodeId, string? key, string field)
    {
        using var admin = Server.CreateOperatorClient();
        var join = await IssueJoinTokenAsync(admin, new JsonObject { ["region"] = "eu-west", ["provider"] = "own-dc", ["ownership"] = "owned", ["hourlyCostUsd"] = 2 });
        using var agent = Server.CreateClient(Text(join, "token"));

        using var response = await PostEnrolAsync(agent, nodeId, key);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, (await response.ProblemAsync())["errors"]!.AsObject().Select(e => e.Key), StringComparer.OrdinalIgnoreCase);
        Assert.Equal(0, (await JoinTokenAsync(admin, Text(join, "tokenId")))["uses"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("no-such-node")]
    [InlineData("Bad_Id")]
    public async Task RotateOrRevoke_UnknownNode_Returns404ProblemDetails(string nodeId)
    {
        using var admin = Server.CreateOperatorClient();
        using (var rotate = await admin.PostAsync($"/admin/v1/nodes/{nodeId}/token", null))
        {
            Assert.Equal(HttpStatusCode.NotFound, rotate.StatusCode);
            Assert.Equal("No such node.", Text(await rotate.ProblemAsync(), "title"));
        }

        using var revoke = await admin.DeleteAsync($"/admin/v1/nodes/{nodeId}/token");
        Assert.Equal(HttpStatusCode.NotFound, revoke.StatusCode);
        await revoke.ProblemAsync();
    }

    internal static async Task<JsonNode> IssueJoinTokenAsync(HttpClient admin, JsonObject request)
    {
        using var response = await admin.PostAsJsonAsync("/admin/v1/join-tokens", request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    internal static async Task<JsonNode> EnrolAsync(HttpClient agent, string nodeId, string? key = null)
    {
        using var response = await PostEnrolAsync(agent, nodeId, key);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"enrol {nodeId}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    private static Task<HttpResponseMessage> PostEnrolAsync(HttpClient agent, string nodeId, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/agent/v1/enrol") { Content = JsonContent.Create(new { nodeId }) };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        return agent.SendAsync(request);
    }

    private static async Task<JsonNode> JoinTokenAsync(HttpClient admin, string tokenId) =>
        Assert.Single((await admin.GetJsonAsync("/admin/v1/join-tokens")).AsArray(), t => t!["tokenId"]!.GetValue<string>() == tokenId)!;

    private static string Text(JsonNode node, string name) => node[name]!.GetValue<string>();
}

/// <summary>A node token rotated through one silo is refused on the other at once: the node grain checks every heartbeat.</summary>
[Collection(ClusterCollection.Name)]
public sealed class NodeTokenRotationClusterTests(PostgresFixture postgres, AzuriteFixture azurite)
{
    private const string OperatorToken = "node-token-rotation-operator-token";

    [Fact]
    public async Task RotateThroughOneSilo_OldTokenRefusedOnTheOther_JoinTokenRevocationToo()
    {
        var ct = TestContext.Current.CancellationToken;
        var db = await postgres.CreateDatabaseAsync("node_token_rotation", ct);
        var settings = ClusterSettings.For(db, azurite, "node-token-rotation", OperatorToken);
        settings["Auth:RevocationRefreshSeconds"] = "1";

        await using var a = await ServerProcess.StartAsync(settings, ct: ct);
        await using var b = await ServerProcess.StartAsync(settings, ct: ct);
        using var adminA = a.CreateOperatorClient();
        var join = await NodeIdentityTests.IssueJoinTokenAsync(adminA, new JsonObject { ["region"] = "eu-west", ["provider"] = "own-dc", ["ownership"] = "owned", ["hourlyCostUsd"] = 2, ["maxUses"] = 3 });
        using var agentOnB = b.CreateClient(join["token"]!.GetValue<string>());
        var enrolled = await NodeIdentityTests.EnrolAsync(agentOnB, "rotated-node");
        using var nodeOnB = b.CreateClient(enrolled["token"]!.GetValue<string>());
        using (var accepted = await nodeOnB.HeartbeatAsync("rotated-node", 1, ApiClient.Gpus(1)))
        {
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        using (var rotate = await adminA.PostAsync("/admin/v1/nodes/rotated-node/token", null, ct))
        {
            Assert.Equal(HttpStatusCode.OK, rotate.StatusCode);
        }

        using (var refused = await nodeOnB.HeartbeatAsync("rotated-node", 2, ApiClient.Gpus(1)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // A join token revoked through one silo stops enrolling on the other within the refresh period.
        using (var revoke = await adminA.DeleteAsync($"/admin/v1/join-tokens/{join["tokenId"]!.GetValue<string>()}", ct))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        var status = await Poll.UntilAsync(
            async () =>
            {
                using var response = await agentOnB.PostAsJsonAsync("/agent/v1/enrol", new { nodeId = "never-enrolled" }, ct);
                return response.StatusCode;
            },
            s => s == HttpStatusCode.Unauthorized,
            TimeSpan.FromSeconds(15),
            "the other silo to refuse the revoked join token");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }
}
