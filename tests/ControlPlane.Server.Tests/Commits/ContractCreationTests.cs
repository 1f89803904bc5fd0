using System.Net;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Commits;

[Collection(ManualCloseServerFixture.CollectionName)]
public sealed class ContractCreationTests(ManualCloseServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task CreateContract_MoneyAsString_Returns201WithTermsAndOpeningInvoice()
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, customerId) = (NewId("create"), NewId("create-cust"));

        var created = await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-31", 4, "2500.50", discountPercent: 12.5m));

        Assert.Equal(contractId, created["contractId"]!.GetValue<string>());
        Assert.Equal(customerId, created["customerId"]!.GetValue<string>());
        Assert.Equal(
            """{"startDate":"2025-01-31","endDate":"2026-01-31","quarters":4,"quarterlyCommitUsd":"2500.50","discountPercent":12.5,"rolloverCapPercent":100}""",
            created["terms"]!.ToJsonString());
        // Bounds past a month's end clamp to its last day and do not drift.
        Assert.Equal(
            ["2025-01-31T00:00:00+00:00", "2025-04-30T00:00:00+00:00", "2025-07-31T00:00:00+00:00", "2025-10-31T00:00:00+00:00"],
            created["quarters"]!.AsArray().Select(q => q!["start"]!.GetValue<string>()).ToArray());
        Assert.Equal(["commit Q1 2500.50 = 2500.50"], DescribeInvoices(await admin.GetInvoicesAsync(contractId)));
        Assert.Equal(created.ToJsonString(), (await admin.GetContractAsync(contractId)).ToJsonString());
    }

    [Fact]
    public async Task CreateContract_SameIdAndTermsAgain_Returns201SameContractAndOneOpeningInvoice()
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, customerId) = (NewId("again"), NewId("again-cust"));
        var request = Contract(contractId, customerId, "2025-01-01", 4, 1000m);

        var first = await admin.CreateContractAsync(request);
        var second = await admin.CreateContractAsync(request);

        Assert.Equal(first.ToJsonString(), second.ToJsonString());
        Assert.Equal(["commit Q1 1000.00 = 1000.00"], DescribeInvoices(await admin.GetInvoicesAsync(contractId)));
    }

    [Fact]
    public async Task CreateContract_SameIdOtherTerms_Returns409()
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, customerId) = (NewId("other-terms"), NewId("other-terms-cust"));
        await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-01", 4, 1000m));

        using var response = await admin.PostContractAsync(Contract(contractId, customerId, "2025-01-01", 4, 2000m));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("1000.00", (await admin.GetContractAsync(contractId))["terms"]!["quarterlyCommitUsd"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreateContract_OverlappingTermSameCustomer_Returns409_FollowingTermReturns201()
    {
        using var admin = Server.CreateOperatorClient();
        var customerId = NewId("overlap-cust");
        var (first, overlapping, following) = (NewId("overlap-1"), NewId("overlap-2"), NewId("overlap-3"));
        await admin.CreateContractAsync(Contract(first, customerId, "2025-01-01", 4, 1000m));

        using var overlap = await admin.PostContractAsync(Contract(overlapping, customerId, "2025-12-31", 4, 1000m));
        using var next = await admin.PostContractAsync(Contract(following, customerId, "2026-01-01", 4, 1000m));

        Assert.Equal(HttpStatusCode.Conflict, overlap.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/v1/contracts/{overlapping}")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, next.StatusCode);
    }

    [Theory]
    [InlineData("contractId", "bad id!")]
    [InlineData("startDate", null)]
    [InlineData("quarters", 0)]
    [InlineData("quarters", 41)]
    [InlineData("quarterlyCommitUsd", 0)]
    [InlineData("quarterlyCommitUsd", "0.001")]
    [InlineData("quarterlyCommitUsd", -1000)]
    [InlineData("discountPercent", 100)]
    [InlineData("discountPercent", -1)]
    [InlineData("rolloverCapPercent", 100.5)]
    public async Task CreateContract_InvalidField_Returns400NamingIt(string field, object? value)
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, customerId) = (NewId("invalid"), NewId("invalid-cust"));
        var request = Contract(contractId, customerId, "2025-01-01", 4, 1000m);
        request[field] = value switch
        {
            null => null,
            string text => JsonValue.Create(text),
            int number => JsonValue.Create(number),
            double number => JsonValue.Create((decimal)number),
            _ => throw new ArgumentException("unexpected value", nameof(value)),
        };

        using var response = await admin.PostContractAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal([field], await response.ErrorKeysAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/v1/contracts/{contractId}")).StatusCode);
        using var customer = Server.CreateClient(await admin.IssueTokenAsync("customer", customerId));
        Assert.Equal("[]", (await customer.GetJsonAsync("/v1/contracts")).ToJsonString());
    }

    [Fact]
    public async Task GetContract_Unknown_Returns404()
    {
        using var admin = Server.CreateOperatorClient();

        using var response = await admin.GetAsync($"/admin/v1/contracts/{NewId("missing")}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
