using System.Net;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Commits;

/// <summary>Who may see and change contracts: a customer its own only, operators everything, gateways nothing.</summary>
[Collection(ManualCloseServerFixture.CollectionName)]
public sealed class BillingAccessTests(ManualCloseServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task CustomerToken_OwnContract_SeesContractAndInvoicesAsTheOperatorDoes()
    {
        using var admin = Server.CreateOperatorClient();
        var (mine, _) = await TwoCustomersAsync(admin);
        await admin.CloseQuarterAsync(mine.ContractId, 1);
        using var customer = Server.CreateClient(await admin.IssueTokenAsync("customer", mine.CustomerId));

        var list = (await customer.GetJsonAsync("/v1/contracts")).AsArray();
        var contract = await customer.GetJsonAsync($"/v1/contracts/{mine.ContractId}");
        var invoices = await customer.GetInvoicesAsync(mine.ContractId, prefix: "/v1");

        Assert.Equal([mine.ContractId], list.Select(c => c!["contractId"]!.GetValue<string>()));
        Assert.Equal((await admin.GetContractAsync(mine.ContractId)).ToJsonString(), contract.ToJsonString());
        Assert.Equal((await admin.GetInvoicesAsync(mine.ContractId)).ToJsonString(), invoices.ToJsonString());
        Assert.Equal(["commit Q1 1000.00 = 1000.00", "commit Q2 1000.00 = 1000.00"], DescribeInvoices(invoices));
    }

    [Fact]
    public async Task CustomerToken_TwoSuccessiveContracts_ListsBothInTermOrder()
    {
        using var admin = Server.CreateOperatorClient();
        var customerId = NewId("two-cust");
        var (later, earlier) = (NewId("two-later"), NewId("two-earlier"));
        await admin.CreateContractAsync(Contract(later, customerId, "2026-01-01", 4, 2000m));
        await admin.CreateContractAsync(Contract(earlier, customerId, "2025-01-01", 4, 1000m));
        using var customer = Server.CreateClient(await admin.IssueTokenAsync("customer", customerId));

        var list = (await customer.GetJsonAsync("/v1/contracts")).AsArray();

        Assert.Equal(
            [$"{earlier} 2025-01-01 1000.00", $"{later} 2026-01-01 2000.00"],
            list.Select(c => $"{c!["contractId"]!.GetValue<string>()} {c["terms"]!["startDate"]!.GetValue<string>()} {c["terms"]!["quarterlyCommitUsd"]!.GetValue<string>()}"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("/invoices")]
    public async Task CustomerToken_AnotherCustomersContract_Returns404AsIfItDidNotExist(string suffix)
    {
        using var admin = Server.CreateOperatorClient();
        var (mine, theirs) = await TwoCustomersAsync(admin);
        using var customer = Server.CreateClient(await admin.IssueTokenAsync("customer", mine.CustomerId));

        using var response = await customer.GetAsync($"/v1/contracts/{theirs.ContractId}{suffix}");

        // Whether the id exists is not another customer's to learn (nor to cost a contract activation to find out).
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(theirs.CustomerId, body, StringComparison.Ordinal);
        Assert.DoesNotContain("commitUsd", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/invoices")]
    public async Task CustomerToken_UnknownContract_Returns404(string suffix)
    {
        using var admin = Server.CreateOperatorClient();
        using var customer = Server.CreateClient(await admin.IssueTokenAsync("customer", NewId("lonely-cust")));

        using var response = await customer.GetAsync($"/v1/contracts/{NewId("nothing")}{suffix}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData("gateway", HttpStatusCode.Forbidden)]
    [InlineData("operator", HttpStatusCode.Forbidden)]
    public async Task CustomerApi_WithoutACustomerToken_Refused(string? role, HttpStatusCode expected)
    {
        using var admin = Server.CreateOperatorClient();
        var (mine, _) = await TwoCustomersAsync(admin);
        using var client = Server.CreateClient(role is null ? null : await admin.IssueTokenAsync(role, mine.CustomerId));

        foreach (var path in new[] { "/v1/contracts", $"/v1/contracts/{mine.ContractId}", $"/v1/contracts/{mine.ContractId}/invoices" })
        {
            using var response = await client.GetAsync(path);
            Assert.True(expected == response.StatusCode, $"GET {path}: {(int)response.StatusCode}");
        }
    }

    [Theory]
    [InlineData("gateway")]
    [InlineData("customer")]
    public async Task AdminApi_GatewayOrCustomerToken_Returns403AndChangesNothing(string role)
    {
        using var admin = Server.CreateOperatorClient();
        var (mine, _) = await TwoCustomersAsync(admin);
        var model = NewId("denied-model");
        using var client = Server.CreateClient(await admin.IssueTokenAsync(role, mine.CustomerId));
        var contractPath = $"/admin/v1/contracts/{mine.ContractId}";
        var requests = new (HttpMethod Method, string Path, JsonNode? Body)[]
        {
            (HttpMethod.Put, $"/admin/v1/prices/{model}", new JsonObject { ["inputUsdPer1M"] = 1, ["outputUsdPer1M"] = 2 }),
            (HttpMethod.Get, "/admin/v1/prices", null),
            (HttpMethod.Post, "/admin/v1/contracts", Contract(NewId("denied"), mine.CustomerId, "2030-01-01", 4, 1m)),
            (HttpMethod.Get, contractPath, null),
            (HttpMethod.Post, $"{contractPath}/true-ups", new JsonObject { ["additionalQuarterlyCommitUsd"] = 1, ["effectiveQuarter"] = 1 }),
            (HttpMethod.Post, $"{contractPath}/quarters/1/close", null),
            (HttpMethod.Get, $"{contractPath}/invoices", null),
            (HttpMethod.Get, $"{contractPath}/invoices/preview", null),
            (HttpMethod.Get, $"/admin/v1/customers/{mine.CustomerId}/usage?month=2025-01", null),
            (HttpMethod.Post, "/admin/v1/tokens", new JsonObject { ["role"] = "operator", ["subject"] = "me" }),
        };

        foreach (var (method, path, body) in requests)
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null)
            {
                request.Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
            }

            using var response = await client.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method} {path} with a {role} token: {(int)response.StatusCode}");
        }

        Assert.Equal(["commit Q1 1000.00 = 1000.00"], DescribeInvoices(await admin.GetInvoicesAsync(mine.ContractId)));
        Assert.Empty((await admin.GetContractAsync(mine.ContractId))["trueUps"]!.AsArray());
        Assert.DoesNotContain((await admin.GetJsonAsync("/admin/v1/prices")).AsArray(), p => p!["model"]!.GetValue<string>() == model);
    }

    private static async Task<((string ContractId, string CustomerId) Mine, (string ContractId, string CustomerId) Theirs)> TwoCustomersAsync(HttpClient admin)
    {
        var mine = (NewId("mine"), NewId("mine-cust"));
        var theirs = (NewId("theirs"), NewId("theirs-cust"));
        await admin.CreateContractAsync(Contract(mine.Item1, mine.Item2, "2025-01-01", 4, 1000m));
        await admin.CreateContractAsync(Contract(theirs.Item1, theirs.Item2, "2025-01-01", 4, 2000m));
        return (mine, theirs);
    }
}
