using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Deployments;
using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Partners;

/// <summary>The partners admin API through HTTP. Partners are cluster-wide: each test uses ids and models of its own.</summary>
[Collection(CapacityServerFixture.CollectionName)]
public sealed class PartnerApiTests(CapacityServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Put_NewThenChangedThenSame_CreatesUpdatesAndIsIdempotent()
    {
        using var admin = Server.CreateOperatorClient();

        using (var created = await admin.PutAsJsonAsync("/admin/v1/partners/papi-a", new { models = new[] { "papi-m1" }, usdPer1MTokens = "0.90", capacityTokensPerSecond = 5_000 }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal("/admin/v1/partners/papi-a", created.Headers.Location?.OriginalString);
            var body = (await created.Content.ReadFromJsonAsync<JsonNode>())!;
            Assert.Equal("papi-a", body["partnerId"]!.GetValue<string>());
            Assert.Equal(0.90m, body["usdPer1MTokens"]!.GetValue<decimal>());
            Assert.Equal(5_000m, body["capacityTokensPerSecond"]!.GetValue<decimal>());
        }

        using (var updated = await admin.PutAsJsonAsync("/admin/v1/partners/papi-a", new { models = new[] { "papi-m1", "papi-m2" }, usdPer1MTokens = 0.75m, capacityTokensPerSecond = "8000" }))
        {
            Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        }

        using (var again = await admin.PutAsJsonAsync("/admin/v1/partners/papi-a", new { models = new[] { "papi-m1", "papi-m2" }, usdPer1MTokens = 0.750m, capacityTokensPerSecond = 8_000 }))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        var read = await admin.GetJsonAsync("/admin/v1/partners/papi-a");
        Assert.Equal(["papi-m1", "papi-m2"], read["models"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(0.75m, read["usdPer1MTokens"]!.GetValue<decimal>());
        Assert.Equal(8_000m, read["capacityTokensPerSecond"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task ListAndDelete_ListsEveryPartnerByIdAndForgetsADeletedOne()
    {
        using var admin = Server.CreateOperatorClient();
        await PutAsync(admin, "papi-list-b", "papi-list-m", 2m, 1_000m);
        await PutAsync(admin, "papi-list-a", "papi-list-m", 1m, 1_000m);

        var ids = await ListIdsAsync(admin);
        Assert.True(ids.IndexOf("papi-list-a") < ids.IndexOf("papi-list-b") && ids.IndexOf("papi-list-a") >= 0, string.Join(",", ids));

        using (var deleted = await admin.DeleteAsync("/admin/v1/partners/papi-list-b"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        using (var gone = await admin.GetAsync("/admin/v1/partners/papi-list-b"))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
            Assert.Equal(404, (await gone.ProblemAsync())["status"]!.GetValue<int>());
        }

        using (var again = await admin.DeleteAsync("/admin/v1/partners/papi-list-b"))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }

        Assert.DoesNotContain("papi-list-b", await ListIdsAsync(admin));
        Assert.Contains("papi-list-a", await ListIdsAsync(admin));
    }

    public static TheoryData<string, string, string> BadBodies => new()
    {
        { "papi-bad", """{"models":["m"],"usdPer1MTokens":1,"capacityTokensPerSecond":0}""", "capacityTokensPerSecond" },
        { "papi-bad", """{"models":["m"],"usdPer1MTokens":1,"capacityTokensPerSecond":-5}""", "capacityTokensPerSecond" },
        { "papi-bad", """{"models":["m"],"usdPer1MTokens":"0.1234567","capacityTokensPerSecond":10}""", "usdPer1MTokens" },
        { "papi-bad", """{"models":["m"],"usdPer1MTokens":-1,"capacityTokensPerSecond":10}""", "usdPer1MTokens" },
        { "papi-bad", """{"models":[],"usdPer1MTokens":1,"capacityTokensPerSecond":10}""", "models" },
        { "papi-bad", """{"models":["m","m"],"usdPer1MTokens":1,"capacityTokensPerSecond":10}""", "models" },
        { "papi-bad", """{"usdPer1MTokens":1,"capacityTokensPerSecond":10}""", "models" },
        { "papi-bad", """{"models":["m"],"capacityTokensPerSecond":10}""", "usdPer1MTokens" },
        { "papi-bad$", """{"models":["m"],"usdPer1MTokens":1,"capacityTokensPerSecond":10}""", "partnerId" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Put_BadInput_Returns400NamingTheFieldAndChangesNothing(string id, string json, string field)
    {
        using var admin = Server.CreateOperatorClient();
        // An existing partner under the same id must keep its terms.
        if (id == "papi-bad")
        {
            await PutAsync(admin, id, "papi-bad-m", 3m, 700m);
        }

        using var response = await admin.PutAsync($"/admin/v1/partners/{Uri.EscapeDataString(id)}", new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((await response.ProblemAsync())["errors"]![field]);
        if (id == "papi-bad")
        {
            var kept = await admin.GetJsonAsync("/admin/v1/partners/papi-bad");
            Assert.Equal((3m, 700m), (kept["usdPer1MTokens"]!.GetValue<decimal>(), kept["capacityTokensPerSecond"]!.GetValue<decimal>()));
        }
        else
        {
            Assert.DoesNotContain(id, await ListIdsAsync(admin));
        }
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("""{"models":"m","usdPer1MTokens":1,"capacityTokensPerSecond":10}""")]
    [InlineData("""{"models":["m"],"usdPer1MTokens":"lots","capacityTokensPerSecond":10}""")]
    public async Task Put_MalformedBody_Returns400NotA500(string json)
    {
        using var admin = Server.CreateOperatorClient();

        using var response = await admin.PutAsync("/admin/v1/partners/papi-malformed", new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain("papi-malformed", await ListIdsAsync(admin));
    }

    [Fact]
    public async Task Partners_WithoutOrWithAWrongToken_401Or403AndChangeNothing()
    {
        using var admin = Server.CreateOperatorClient();
        using var anonymous = Server.CreateClient();
        using var forged = Server.CreateClient("not-a-token-at-all");
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var body = new { models = new[] { "papi-auth-m" }, usdPer1MTokens = 1, capacityTokensPerSecond = 10 };

        foreach (var (client, expected) in new[] { (anonymous, HttpStatusCode.Unauthorized), (forged, HttpStatusCode.Unauthorized), (gateway, HttpStatusCode.Forbidden) })
        {
            using (var put = await client.PutAsJsonAsync("/admin/v1/partners/papi-auth", body))
            {
                Assert.Equal(expected, put.StatusCode);
            }

            using (var list = await client.GetAsync("/admin/v1/partners"))
            {
                Assert.Equal(expected, list.StatusCode);
            }
        }

        Assert.DoesNotContain("papi-auth", await ListIdsAsync(admin));
        await PutAsync(admin, "papi-auth-kept", "papi-auth-m", 1m, 10m);
        using (var delete = await gateway.DeleteAsync("/admin/v1/partners/papi-auth-kept"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        }

        Assert.Contains("papi-auth-kept", await ListIdsAsync(admin));
    }

    internal static async Task PutAsync(HttpClient admin, string id, string model, decimal price, decimal capacity)
    {
        using var response = await admin.PutAsJsonAsync($"/admin/v1/partners/{id}", new { models = new[] { model }, usdPer1MTokens = price, capacityTokensPerSecond = capacity });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<List<string>> ListIdsAsync(HttpClient admin) =>
        (await admin.GetJsonAsync("/admin/v1/partners")).AsArray().Select(p => p!["partnerId"]!.GetValue<string>()).ToList();
}
