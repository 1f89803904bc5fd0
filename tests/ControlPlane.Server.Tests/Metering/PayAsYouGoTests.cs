using System.Globalization;
using System.Net;
using ControlPlane.Server.Tests.Commits;
using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Metering;

/// <summary>Usage outside any contract is pay-as-you-go at list price, shown per calendar month.</summary>
[Collection(ManualCloseServerFixture.CollectionName)]
public sealed class PayAsYouGoTests(ManualCloseServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task PayAsYouGo_NoContract_UsageOfTheMonthAtListPriceRoundedOnce()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (customerId, modelA, modelB) = (NewId("payg-cust"), NewId("payg-a"), NewId("payg-b"));
        await admin.SetPriceAsync(modelA, 3m, 15m);
        await admin.SetPriceAsync(modelB, 0.5m, 1.5m);
        var october = Event($"{customerId}-oct-1", customerId, modelA, 2_000_000, 1_000_000, At("2026-10-05T00:00:00Z"));

        Assert.Equal("accepted 5, duplicates 0", await gateway.SendUsageAsync(
            NewId("batch"),
            october,
            Event($"{customerId}-oct-2", customerId, modelA, 1_234_567, 0, At("2026-10-31T23:59:59Z")),
            Event($"{customerId}-oct-3", customerId, modelB, 1_000_000, 1_000_000, At("2026-10-10T00:00:00Z")),
            Event($"{customerId}-sep", customerId, modelA, 1_000_000, 0, At("2026-09-30T23:59:59Z")),
            Event($"{customerId}-nov", customerId, modelA, 0, 1_000_000, At("2026-11-01T00:00:00Z"))));
        Assert.Equal("accepted 0, duplicates 1", await gateway.SendUsageAsync(NewId("batch"), october));

        // Model A: $6 + $15 + $3.703701 = $24.703701; model B: $0.50 + $1.50; the month: $26.703701.
        var usage = await admin.GetJsonAsync($"/admin/v1/customers/{customerId}/usage?month=2026-10");
        Assert.Equal(customerId, usage["customerId"]!.GetValue<string>());
        Assert.Equal("2026-10", usage["month"]!.GetValue<string>());
        Assert.Equal([$"{modelA} in 3234567 out 1000000 = 24.70", $"{modelB} in 1000000 out 1000000 = 2.00"], UsageByModel(usage, "usage"));
        Assert.Equal("26.70", usage["totalUsd"]!.GetValue<string>());
        Assert.Equal("3.00", await TotalAsync(admin, customerId, "2026-09"));
        Assert.Equal("15.00", await TotalAsync(admin, customerId, "2026-11"));
    }

    [Fact]
    public async Task PayAsYouGo_CustomerWithContract_OnlyUsageOutsideTheTerm()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = (NewId("payg-term"), NewId("payg-term-cust"), NewId("payg-term-model"));
        await admin.SetPriceAsync(model, 1m, 2m);
        // One quarter: January to March 2026, at a 50% discount.
        await admin.CreateContractAsync(Contract(contractId, customerId, "2026-01-01", 1, 1000m, discountPercent: 50m));

        Assert.Equal("accepted 4, duplicates 0", await gateway.SendUsageAsync(
            NewId("batch"),
            Event($"{contractId}-before", customerId, model, 1_000_000, 0, At("2025-12-31T23:59:59Z")),
            Event($"{contractId}-first", customerId, model, 2_000_000, 0, At("2026-01-01T00:00:00Z")),
            Event($"{contractId}-last", customerId, model, 4_000_000, 0, At("2026-03-31T23:59:59Z")),
            Event($"{contractId}-after", customerId, model, 8_000_000, 0, At("2026-04-01T00:00:00Z"))));

        Assert.Equal("1.00", await TotalAsync(admin, customerId, "2025-12"));
        Assert.Equal("0.00", await TotalAsync(admin, customerId, "2026-01"));
        Assert.Equal("0.00", await TotalAsync(admin, customerId, "2026-03"));
        Assert.Equal("8.00", await TotalAsync(admin, customerId, "2026-04"));
        Assert.Empty((await admin.GetJsonAsync($"/admin/v1/customers/{customerId}/usage?month=2026-01"))["usage"]!.AsArray());
        // In the term: $6 at list, $3 at the contract's rate.
        Assert.Equal("3.00", (await admin.GetContractAsync(contractId))["quarters"]![0]!["usageUsd"]!.GetValue<string>());
        // After the term: the pay-as-you-go invoice of April, at list price.
        var april = await admin.GetJsonAsync($"/admin/v1/customers/{customerId}/pay-as-you-go/invoices/preview?month=2026-04");
        Assert.Equal(
            ("usage", "2026-04", model, 8_000_000L, "8.00", "8.00"),
            (april["lines"]![0]!["kind"]!.GetValue<string>(), april["lines"]![0]!["month"]!.GetValue<string>(), april["lines"]![0]!["model"]!.GetValue<string>(),
                april["lines"]![0]!["inputTokens"]!.GetValue<long>(), april["lines"]![0]!["amountUsd"]!.GetValue<string>(), april["totalUsd"]!.GetValue<string>()));
        Assert.Single(april["lines"]!.AsArray());
    }

    [Fact]
    public async Task PayAsYouGo_PriceChanged_PastUsageKeepsItsPriceAndNewUsageTakesTheNew()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (customerId, model) = (NewId("payg-price-cust"), NewId("payg-price-model"));
        var now = DateTimeOffset.UtcNow;
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var month = monthStart.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        await admin.SetPriceAsync(model, 1m, 2m);
        await gateway.SendUsageAsync(NewId("batch"), Event($"{customerId}-old", customerId, model, 1_000_000, 0, monthStart));

        var before = DateTimeOffset.UtcNow;
        var changed = await admin.SetPriceAsync(model, 4m, 8m);
        var after = DateTimeOffset.UtcNow;
        // Sent after the change, but it happened before it: the old price.
        await gateway.SendUsageAsync(NewId("batch"), Event($"{customerId}-old-late", customerId, model, 1_000_000, 0, monthStart));
        await gateway.SendUsageAsync(NewId("batch"), Event($"{customerId}-new", customerId, model, 1_000_000, 0, DateTimeOffset.UtcNow));

        Assert.Equal(model, changed["model"]!.GetValue<string>());
        Assert.Equal(4m, changed["inputUsdPer1M"]!.GetValue<decimal>());
        Assert.Equal(8m, changed["outputUsdPer1M"]!.GetValue<decimal>());
        Assert.InRange(changed["effectiveFrom"]!.GetValue<DateTimeOffset>(), before.AddSeconds(-1), after.AddSeconds(1));
        Assert.Equal("6.00", await TotalAsync(admin, customerId, month));
    }

    [Theory]
    [InlineData("2026-13")]
    [InlineData("October")]
    [InlineData("2026-10-01")]
    public async Task PayAsYouGo_InvalidMonth_Returns400(string month)
    {
        using var admin = Server.CreateOperatorClient();

        using var response = await admin.GetAsync($"/admin/v1/customers/{NewId("payg-bad")}/usage?month={month}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["month"], await response.ErrorKeysAsync());
    }

    [Theory]
    [InlineData("GET", "/admin/v1/customers/payg-bad/pay-as-you-go/invoices/preview?month=2026-13", "month")]
    [InlineData("GET", "/admin/v1/customers/payg-bad/pay-as-you-go/invoices/preview?month=2019-12", "month")]
    [InlineData("GET", "/admin/v1/customers/bad%20id/pay-as-you-go/invoices", "customerId")]
    [InlineData("POST", "/admin/v1/customers/payg-bad/pay-as-you-go/months/2026-1/close", "month")]
    [InlineData("POST", "/admin/v1/customers/bad%20id/pay-as-you-go/months/2026-10/close", "customerId")]
    [InlineData("GET", "/v1/pay-as-you-go/invoices/preview?month=October", "month")]
    public async Task PayAsYouGoInvoices_BadInput_Returns400NamingTheField(string method, string path, string field)
    {
        using var admin = Server.CreateOperatorClient();
        using var client = path.StartsWith("/v1/", StringComparison.Ordinal) ? Server.CreateClient(await admin.IssueTokenAsync("customer", NewId("payg-bad"))) : Server.CreateOperatorClient();

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal([field], await response.ErrorKeysAsync());
    }

    [Fact]
    public async Task PayAsYouGoInvoices_NothingYet_EmptyListAndNoPreview()
    {
        using var admin = Server.CreateOperatorClient();
        var customerId = NewId("payg-none");
        using var customer = Server.CreateClient(await admin.IssueTokenAsync("customer", customerId));

        using var preview = await admin.GetAsync($"/admin/v1/customers/{customerId}/pay-as-you-go/invoices/preview", TestContext.Current.CancellationToken);
        using var mine = await customer.GetAsync("/v1/pay-as-you-go/invoices/preview?month=2026-10", TestContext.Current.CancellationToken);

        Assert.Equal((HttpStatusCode.NoContent, HttpStatusCode.NoContent), (preview.StatusCode, mine.StatusCode));
        Assert.Empty((await admin.GetJsonAsync($"/admin/v1/customers/{customerId}/pay-as-you-go/invoices")).AsArray());
        Assert.Empty((await customer.GetJsonAsync("/v1/pay-as-you-go/invoices")).AsArray());
    }

    [Theory]
    [InlineData("customer", "GET", "/admin/v1/customers/payg-auth/pay-as-you-go/invoices", HttpStatusCode.Forbidden)]
    [InlineData("customer", "POST", "/admin/v1/customers/payg-auth/pay-as-you-go/months/2026-10/close", HttpStatusCode.Forbidden)]
    [InlineData("gateway", "GET", "/v1/pay-as-you-go/invoices", HttpStatusCode.Forbidden)]
    [InlineData("gateway", "GET", "/admin/v1/customers/payg-auth/pay-as-you-go/invoices/preview", HttpStatusCode.Forbidden)]
    [InlineData(null, "GET", "/v1/pay-as-you-go/invoices/preview", HttpStatusCode.Unauthorized)]
    public async Task PayAsYouGoInvoices_WrongRole_Refused(string? role, string method, string path, HttpStatusCode expected)
    {
        using var admin = Server.CreateOperatorClient();
        using var client = Server.CreateClient(role is null ? null : await admin.IssueTokenAsync(role, "payg-auth"));

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path), TestContext.Current.CancellationToken);

        Assert.Equal(expected, response.StatusCode);
    }

    private static async Task<string> TotalAsync(HttpClient admin, string customerId, string month) =>
        (await admin.GetJsonAsync($"/admin/v1/customers/{customerId}/usage?month={month}"))["totalUsd"]!.GetValue<string>();
}
