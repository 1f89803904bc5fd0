using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Cluster;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Auth;

/// <summary>
/// Issued gateway, customer and operator tokens expire, are listed with who issued them, and can be revoked; an issued
/// operator token cannot mint more operator tokens.
/// </summary>
[Collection(EmbeddedServerFixture.CollectionName)]
public sealed class TokenLifecycleTests(EmbeddedServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Issue_ListedWithIssuerAndExpiryButNeverTheToken()
    {
        using var admin = Server.CreateOperatorClient();
        var issued = await IssueAsync(admin, new JsonObject { ["role"] = "gateway", ["expiresInSeconds"] = 3_600 });
        var tokenId = issued["tokenId"]!.GetValue<string>();
        var issuedAt = issued["issuedAt"]!.GetValue<DateTimeOffset>();
        Assert.Equal(issuedAt.AddHours(1), issued["expiresAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal("bootstrap", issued["issuedBy"]!.GetValue<string>());

        var listed = Assert.Single((await admin.GetJsonAsync("/admin/v1/tokens")).AsArray(), t => t!["tokenId"]!.GetValue<string>() == tokenId)!;
        Assert.Equal(("gateway", "gateway", "bootstrap", "active"), (Text(listed, "role"), Text(listed, "subject"), Text(listed, "issuedBy"), Text(listed, "state")));
        Assert.Null(listed["token"]);
    }

    [Fact]
    public async Task Revoke_TheTokenIsRefusedAtOnceAndListedAsRevoked()
    {
        using var admin = Server.CreateOperatorClient();
        var issued = await IssueAsync(admin, new JsonObject { ["role"] = "customer", ["subject"] = "revoke-me" });
        using var customer = Server.CreateClient(issued["token"]!.GetValue<string>());
        using (var accepted = await customer.GetAsync("/v1/contracts"))
        {
            Assert.NotEqual(HttpStatusCode.Unauthorized, accepted.StatusCode);
        }

        var tokenId = issued["tokenId"]!.GetValue<string>();
        using (var revoke = await admin.DeleteAsync($"/admin/v1/tokens/{tokenId}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }

        using var refused = await customer.GetAsync("/v1/contracts");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("revoked", Assert.Single(refused.Headers.WwwAuthenticate).ToString(), StringComparison.Ordinal);

        // Revoking again changes nothing; the list says who revoked it.
        using (var again = await admin.DeleteAsync($"/admin/v1/tokens/{tokenId}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
        }

        var listed = Assert.Single((await admin.GetJsonAsync("/admin/v1/tokens")).AsArray(), t => t!["tokenId"]!.GetValue<string>() == tokenId)!;
        Assert.Equal(("revoked", "bootstrap"), (Text(listed, "state"), Text(listed, "revokedBy")));
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef")]
    [InlineData("not-a-token-id")]
    public async Task Revoke_UnknownToken_Returns404ProblemDetails(string tokenId)
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.DeleteAsync($"/admin/v1/tokens/{tokenId}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("No such token.", (await response.ProblemAsync())["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task Issue_ExpiredToken_IsRefused()
    {
        using var admin = Server.CreateOperatorClient();
        var issued = await IssueAsync(admin, new JsonObject { ["role"] = "gateway", ["expiresInSeconds"] = 2 });
        using var gateway = Server.CreateClient(issued["token"]!.GetValue<string>());
        var expires = issued["expiresAt"]!.GetValue<DateTimeOffset>();

        var status = await Poll.UntilAsync(
            async () =>
            {
                using var response = await gateway.GetAsync("/gateway/v1/deployments/expired-probe/endpoints");
                return response.StatusCode;
            },
            s => s == HttpStatusCode.Unauthorized,
            TimeSpan.FromSeconds(30),
            "the token to expire");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.True(DateTimeOffset.UtcNow >= expires.AddSeconds(-1), "refused before it expired");
        Assert.Equal("expired", Text(Assert.Single((await admin.GetJsonAsync("/admin/v1/tokens")).AsArray(), t => t!["tokenId"]!.GetValue<string>() == issued["tokenId"]!.GetValue<string>())!, "state"));
    }

    [Fact]
    public async Task IssuedOperatorToken_CannotMintOperatorTokensAndItsTokensDoNotOutliveIt()
    {
        using var admin = Server.CreateOperatorClient();
        var op = await IssueAsync(admin, new JsonObject { ["role"] = "operator", ["subject"] = "ops-alice", ["expiresInSeconds"] = 600 });
        using var alice = Server.CreateClient(op["token"]!.GetValue<string>());

        using (var more = await alice.PostAsJsonAsync("/admin/v1/tokens", new JsonObject { ["role"] = "operator" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, more.StatusCode);
            Assert.Equal("Only the bootstrap token issues operator tokens.", (await more.ProblemAsync())["title"]!.GetValue<string>());
        }

        using (var tooLong = await alice.PostAsJsonAsync("/admin/v1/tokens", new JsonObject { ["role"] = "gateway", ["expiresInSeconds"] = 86_400 }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
            Assert.Contains("expiresInSeconds", (await tooLong.ProblemAsync())["errors"]!.AsObject().Select(e => e.Key));
        }

        // By default a token alice issues ends when hers does, and the registry records her token as its issuer.
        var gateway = await IssueAsync(alice, new JsonObject { ["role"] = "gateway" });
        Assert.Equal(op["expiresAt"]!.GetValue<DateTimeOffset>(), gateway["expiresAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal("token:" + op["tokenId"]!.GetValue<string>(), gateway["issuedBy"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(366L * 86_400 + 1)]
    public async Task Issue_LifetimeOutOfBounds_Returns400AndIssuesNothing(long seconds)
    {
        using var admin = Server.CreateOperatorClient();
        var before = (await admin.GetJsonAsync("/admin/v1/tokens")).AsArray().Count;

        using var response = await admin.PostAsJsonAsync("/admin/v1/tokens", new JsonObject { ["role"] = "gateway", ["expiresInSeconds"] = seconds });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("expiresInSeconds", (await response.ProblemAsync())["errors"]!.AsObject().Select(e => e.Key));
        Assert.True((await admin.GetJsonAsync("/admin/v1/tokens")).AsArray().Count <= before);
    }

    internal static async Task<JsonNode> IssueAsync(HttpClient admin, JsonObject request)
    {
        using var response = await admin.PostAsJsonAsync("/admin/v1/tokens", request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    private static string? Text(JsonNode node, string name) => node[name]?.GetValue<string>();
}

/// <summary>A revocation through one silo is in force on the others within the refresh period, and survives a restart.</summary>
[Collection(ClusterCollection.Name)]
public sealed class TokenRevocationClusterTests(PostgresFixture postgres, AzuriteFixture azurite)
{
    private const string OperatorToken = "token-revocation-operator-token";

    [Fact]
    public async Task RevokeThroughOneSilo_RefusedOnTheOtherWithinSeconds_AndAfterARestart()
    {
        var ct = TestContext.Current.CancellationToken;
        var db = await postgres.CreateDatabaseAsync("token_revocation", ct);
        var settings = ClusterSettings.For(db, azurite, "token-revocation", OperatorToken);
        settings["Auth:RevocationRefreshSeconds"] = "1";

        await using var a = await ServerProcess.StartAsync(settings, ct: ct);
        await using var b = await ServerProcess.StartAsync(settings, ct: ct);
        using var adminA = a.CreateOperatorClient();
        var issued = await TokenLifecycleTests.IssueAsync(adminA, new JsonObject { ["role"] = "customer", ["subject"] = "two-silos" });
        using var onB = b.CreateClient(issued["token"]!.GetValue<string>());
        using (var accepted = await onB.GetAsync("/v1/contracts", ct))
        {
            Assert.NotEqual(HttpStatusCode.Unauthorized, accepted.StatusCode);
        }

        using (var revoke = await adminA.DeleteAsync($"/admin/v1/tokens/{issued["tokenId"]!.GetValue<string>()}", ct))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }

        var status = await Poll.UntilAsync(
            async () =>
            {
                using var response = await onB.GetAsync("/v1/contracts", ct);
                return response.StatusCode;
            },
            s => s == HttpStatusCode.Unauthorized,
            TimeSpan.FromSeconds(15),
            "the other silo to refuse the revoked token");
        Assert.Equal(HttpStatusCode.Unauthorized, status);

        // The revocation is durable: a fresh silo refuses it from its first request.
        await b.KillAsync();
        await using var c = await ServerProcess.StartAsync(settings, ct: ct);
        using var onC = c.CreateClient(issued["token"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Unauthorized, (await onC.GetAsync("/v1/contracts", ct)).StatusCode);
    }
}
