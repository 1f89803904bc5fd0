using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Commits;
using ControlPlane.Server.Tests.Deployments;
using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Slas;

/// <summary>Setting a contract's SLO terms: what is refused (a 4xx that changes nothing) and who sees the periods.</summary>
[Collection(ManualCloseServerFixture.CollectionName)]
public sealed class SloRequestTests(ManualCloseServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    private static readonly string ThisMonth = DateTime.UtcNow.ToString("yyyy-MM-01", CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("""{"period":"weekly","targetPercent":99.9,"credits":[{"belowPercent":99.9,"creditPercent":10}]}""", "period")]
    [InlineData("""{"period":"monthly","targetPercent":100.5,"credits":[{"belowPercent":99.9,"creditPercent":10}]}""", "targetPercent")]
    [InlineData("""{"period":"monthly","targetPercent":99.9,"credits":[]}""", "credits")]
    [InlineData("""{"period":"monthly","targetPercent":99.9}""", "credits")]
    [InlineData("""{"period":"monthly","targetPercent":99.9,"credits":[{"belowPercent":99.95,"creditPercent":10}]}""", "credits[0].belowPercent")]
    [InlineData("""{"period":"monthly","targetPercent":99.9,"credits":[{"belowPercent":99.9,"creditPercent":0}]}""", "credits[0].creditPercent")]
    [InlineData("""{"period":"monthly","targetPercent":99.9,"credits":[{"belowPercent":99.9,"creditPercent":25},{"belowPercent":99,"creditPercent":10}]}""", "credits")]
    [InlineData("""{"period":"monthly","targetPercent":99.9,"credits":[{"belowPercent":99.9}]}""", "credits[0]")]
    [InlineData("""{"period":"monthly","targetPercent":"99.9e0","credits":[{"belowPercent":99.9,"creditPercent":10}]}""", "targetPercent")]
    public async Task SetSlo_BadTerms_400NamingTheFieldAndNothingChanged(string body, string field)
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, deploymentId, _) = await ContractWithDeploymentAsync(admin);

        using var response = await PutAsync(admin, contractId, deploymentId, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, await response.ErrorKeysAsync());
        Assert.Empty((await admin.GetJsonAsync($"/admin/v1/contracts/{contractId}/slas")).AsArray());
    }

    [Fact]
    public async Task SetSlo_NotADedicatedDeploymentOfTheContractsCustomer_400AndNothingChanged()
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, _, _) = await ContractWithDeploymentAsync(admin);
        var (_, othersDeployment, _) = await ContractWithDeploymentAsync(admin);
        var serverless = NewId("slo-sl");
        await LiquidCapacityTests.CreateAsync(admin, new { deploymentId = serverless, model = "m", @class = "serverless", gpusPerReplica = 1, maxReplicas = 1, tokensPerSecondPerReplica = 100 });

        foreach (var deploymentId in new[] { othersDeployment, serverless, NewId("slo-none") })
        {
            using var response = await PutAsync(admin, contractId, deploymentId, Good);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(["deploymentId"], await response.ErrorKeysAsync());
        }

        Assert.Empty((await admin.GetJsonAsync($"/admin/v1/contracts/{contractId}/slas")).AsArray());
        using var unknown = await PutAsync(admin, NewId("slo-nope"), othersDeployment, Good);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task SetSlo_Valid_StoredOnceAndTheCurrentPeriodShownToOperatorAndCustomerOnly()
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, deploymentId, customerId) = await ContractWithDeploymentAsync(admin);

        using var first = await PutAsync(admin, contractId, deploymentId, Good);
        var stored = await first.Content.ReadFromJsonAsync<JsonNode>();
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(
            $$"""{"contractId":"{{contractId}}","deploymentId":"{{deploymentId}}","period":"monthly","targetPercent":99.9,"credits":[{"belowPercent":99.9,"creditPercent":10},{"belowPercent":99,"creditPercent":25}],"setAt":""",
            stored!.ToJsonString()[..stored.ToJsonString().IndexOf("\"setAt\":", StringComparison.Ordinal)] + "\"setAt\":");
        using var again = await PutAsync(admin, contractId, deploymentId, Good);
        Assert.Equal(stored.ToJsonString(), (await again.Content.ReadFromJsonAsync<JsonNode>())!.ToJsonString());
        Assert.Equal($"[{stored.ToJsonString()}]", (await admin.GetContractAsync(contractId))["slos"]!.ToJsonString());

        var periods = (await admin.GetJsonAsync($"/admin/v1/contracts/{contractId}/slas")).AsArray();
        var current = Assert.Single(periods)!;
        Assert.Equal((ThisMonth, false, "0.00"), (current["measurement"]!["periodStart"]!.GetValue<string>(), current["final"]!.GetValue<bool>(), current["creditUsd"]!.GetValue<string>()));

        using var customer = Server.CreateClient(await admin.IssueTokenAsync("customer", customerId));
        Assert.Single((await customer.GetJsonAsync($"/v1/contracts/{contractId}/slas")).AsArray());
        using var stranger = Server.CreateClient(await admin.IssueTokenAsync("customer", NewId("slo-stranger")));
        using var refused = await stranger.GetAsync($"/v1/contracts/{contractId}/slas");
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
    }

    private const string Good = """{"period":"monthly","targetPercent":99.9,"credits":[{"belowPercent":99.9,"creditPercent":10},{"belowPercent":99,"creditPercent":25}]}""";

    private static Task<HttpResponseMessage> PutAsync(HttpClient admin, string contractId, string deploymentId, string body) =>
        admin.PutAsync($"/admin/v1/contracts/{contractId}/slos/{deploymentId}", new StringContent(body, Encoding.UTF8, "application/json"));

    /// <summary>A contract running this month and a dedicated deployment of its customer (no reservation: no GPUs needed).</summary>
    private static async Task<(string ContractId, string DeploymentId, string CustomerId)> ContractWithDeploymentAsync(HttpClient admin)
    {
        var (contractId, customerId, deploymentId) = (NewId("slo-c"), NewId("slo-cust"), NewId("slo-d"));
        await admin.CreateContractAsync(Contract(contractId, customerId, ThisMonth, 1, 100m));
        await LiquidCapacityTests.CreateAsync(admin, new
        {
            deploymentId, model = "m", @class = "dedicated", customerId, gpusPerReplica = 1, minGpuMemoryGiB = 80,
            minReplicas = 0, reservedReplicas = 0, maxReplicas = 1, tokensPerSecondPerReplica = 100,
        });
        return (contractId, deploymentId, customerId);
    }
}
