using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Commits;
using ControlPlane.Server.Tests.Deployments;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Hosting;

/// <summary>
/// Ids that exist nowhere are answered from an index (a customer's contract list, the scheduler's deployments)
/// without activating a grain for each: a token asking for thousands of made-up ids costs no memory.
/// </summary>
[Collection(HostileVolumeServerFixture.CollectionName)]
public sealed class UnknownIdTests(HostileVolumeServerFixture fixture)
{
    private const int Lookups = 20;

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task CustomerToken_UnknownContracts_Answers404WithoutActivatingContractGrains()
    {
        using var admin = Server.CreateOperatorClient();
        var customerId = NewId("unknown-ids-cust");
        var mine = NewId("unknown-ids-mine");
        await admin.CreateContractAsync(Contract(mine, customerId, "2025-01-01", 4, 1000m));
        using var customer = Server.CreateClient(await admin.IssueTokenAsync("customer", customerId));
        Assert.Equal(HttpStatusCode.OK, (await customer.GetAsync($"/v1/contracts/{mine}")).StatusCode);
        var before = await ActivationsAsync(admin, "ContractGrain");

        for (var i = 0; i < Lookups; i++)
        {
            var suffix = i % 2 == 0 ? "" : "/invoices";
            using var response = await customer.GetAsync($"/v1/contracts/{NewId("made-up")}{suffix}");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        Assert.Equal(before, await ActivationsAsync(admin, "ContractGrain"));
    }

    [Fact]
    public async Task CustomerToken_AnotherCustomersContract_IsNotFoundLikeAnUnknownOne()
    {
        using var admin = Server.CreateOperatorClient();
        var (me, them) = (NewId("unknown-ids-me"), NewId("unknown-ids-them"));
        var theirs = NewId("unknown-ids-theirs");
        await admin.CreateContractAsync(Contract(NewId("unknown-ids-own"), me, "2025-01-01", 4, 1000m));
        await admin.CreateContractAsync(Contract(theirs, them, "2025-01-01", 4, 1000m));
        using var customer = Server.CreateClient(await admin.IssueTokenAsync("customer", me));

        using var known = await customer.GetAsync($"/v1/contracts/{theirs}");
        using var unknown = await customer.GetAsync($"/v1/contracts/{NewId("unknown-ids-none")}");

        Assert.Equal(HttpStatusCode.NotFound, known.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var body = await known.Content.ReadAsStringAsync();
        Assert.DoesNotContain(them, body, StringComparison.Ordinal);
        Assert.Equal("No such contract.", (await known.ProblemAsync())["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task Demand_UnknownDeployments_ReportedUnknownWithoutActivatingDeploymentGrains()
    {
        using var admin = Server.CreateOperatorClient();
        var known = NewId("unknown-ids-dep");
        await LiquidCapacityTests.CreateAsync(admin, LiquidCapacityTests.Batch(known, "hostile-region", max: 1));
        using var gateway = Server.CreateClient(await admin.IssueTokenAsync("gateway", NewId("unknown-ids-gw")));
        var before = await ActivationsAsync(admin, "DeploymentGrain");
        var madeUp = Enumerable.Range(0, Lookups).Select(_ => NewId("made-up")).ToArray();

        using var batch = await gateway.PostAsJsonAsync("/gateway/v1/demand", new
        {
            signals = madeUp.Select(id => new { deploymentId = id, tokensPerSecond = 10 }).Append(new { deploymentId = known, tokensPerSecond = 10 }).ToArray(),
        });
        using var single = await gateway.PostAsJsonAsync("/gateway/v1/demand", new { deploymentId = NewId("made-up"), tokensPerSecond = 10 });

        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        var answer = JsonNode.Parse(await batch.Content.ReadAsStringAsync())!;
        Assert.Equal(1, answer["accepted"]!.GetValue<int>());
        Assert.Equal(madeUp, answer["unknownDeployments"]!.AsArray().Select(u => u!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.NotFound, single.StatusCode);
        Assert.Equal(before, await ActivationsAsync(admin, "DeploymentGrain"));
        Assert.Equal("10", (await LiquidCapacityTests.GetAsync(admin, known))["demandTokensPerSecond"]!.ToJsonString().Trim('"'));
    }

    /// <summary>Live activations of a grain class, cluster-wide, from the server's memory report.</summary>
    internal static async Task<int> ActivationsAsync(HttpClient admin, string grainClass)
    {
        var report = await admin.GetJsonAsync("/diagnostics/v1/memory");
        return report["activations"]!.AsArray()
            .Where(a => ShortName(a!["grainType"]!.GetValue<string>()) == grainClass)
            .Sum(a => a!["activations"]!.GetValue<int>());
    }

    private static string ShortName(string grainType)
    {
        var type = grainType.Split(',')[0];
        return type[(type.LastIndexOf('.') + 1)..];
    }
}
