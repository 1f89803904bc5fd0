using System.Net;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Server.Tests.Ui;

namespace ControlPlane.Server.Tests.Commits;

/// <summary>What the customer portal and the console's Commits page read beyond the contract itself.</summary>
[Collection(WebUiServerFixture.CollectionName)]
public sealed class PortalApiTests(WebUiServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Forecast_OwnContract_GivesTheQuarterBalanceAndABurnFromItsUsage()
    {
        using var customer = Server.CreateClient(fixture.Acme.Token);

        var forecast = await customer.GetJsonAsync($"/v1/contracts/{fixture.Acme.ContractId}/forecast");

        Assert.Equal(1, forecast["quarter"]!.GetValue<int>());
        Assert.Equal(
            "commit 100.00, rollover 0.00, available 100.00, used 12.00, remaining 88.00, overage 0.00",
            $"commit {forecast["commitUsd"]}, rollover {forecast["rolloverInUsd"]}, available {forecast["availableUsd"]}, used {forecast["usedUsd"]}, remaining {forecast["remainingUsd"]}, overage {forecast["overageUsd"]}");
        // 12.00 in ten days: 1.20 a day runs through the 100.00 in about 83 days, before the quarter ends; the figures are
        // the domain's (CommitForecastTests) at the instant the server says it forecast at.
        var asOf = forecast["asOf"]!.GetValue<DateTimeOffset>();
        var start = forecast["quarterStart"]!.GetValue<DateTimeOffset>();
        var end = forecast["quarterEnd"]!.GetValue<DateTimeOffset>();
        var elapsed = (asOf - start).Ticks;
        Assert.Equal(start.AddTicks(decimal.ToInt64(decimal.Floor(10_000m * elapsed / 1_200m))), forecast["runsOutAt"]!.GetValue<DateTimeOffset>());
        var projectedCents = decimal.Ceiling(1_200m * (end - start).Ticks / elapsed);
        Assert.Equal((projectedCents / 100m).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), forecast["projectedUsageUsd"]!.GetValue<string>());
        Assert.NotEqual("0.00", forecast["trueUpUsd"]!.GetValue<string>());
    }

    [Fact]
    public async Task DailyUsage_OwnContract_ListsEachDayAtTheDiscountedRate()
    {
        using var customer = Server.CreateClient(fixture.Acme.Token);

        var usage = await customer.GetJsonAsync($"/v1/contracts/{fixture.Acme.ContractId}/usage/daily");

        var days = usage["days"]!.AsArray().Select(d => $"{d!["model"]} {d["inputTokens"]} {d["outputTokens"]} {d["amountUsd"]}").ToArray();
        // 2M/1M yesterday: (4.00 + 6.00) x 0.8; 1M/0.5M today: (2.00 + 3.00) x 0.8.
        Assert.Equal(["ui-model-70b 2000000 1000000 8.00", "ui-model-70b 1000000 500000 4.00"], days);
    }

    [Theory]
    [InlineData("/forecast")]
    [InlineData("/usage/daily")]
    public async Task CustomerToken_AnotherCustomersContract_Returns404(string suffix)
    {
        using var customer = Server.CreateClient(fixture.Other.Token);

        using var response = await customer.GetAsync($"/v1/contracts/{fixture.Acme.ContractId}{suffix}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("No such contract.", (await response.ProblemAsync())["title"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("5")]
    [InlineData("one")]
    public async Task DailyUsage_QuarterOutsideTheTerm_Returns400(string quarter)
    {
        using var customer = Server.CreateClient(fixture.Acme.Token);

        using var response = await customer.GetAsync($"/v1/contracts/{fixture.Acme.ContractId}/usage/daily?quarter={quarter}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task AdminCustomerContracts_ListsThatCustomersContractsOnly()
    {
        using var admin = Server.CreateOperatorClient();

        var list = (await admin.GetJsonAsync($"/admin/v1/customers/{fixture.Acme.CustomerId}/contracts")).AsArray();
        var none = (await admin.GetJsonAsync("/admin/v1/customers/ui-nobody/contracts")).AsArray();

        Assert.Equal([fixture.Acme.ContractId], list.Select(c => c!["contractId"]!.GetValue<string>()));
        Assert.Empty(none);
    }

    [Fact]
    public async Task CapacityHistory_SamplesTheFleetPerRegion()
    {
        using var admin = Server.CreateOperatorClient();

        var history = await Poll.UntilAsync(
            () => admin.GetJsonAsync("/admin/v1/capacity/history"),
            h => h["samples"]!.AsArray().Any(s => s!["regions"]!.AsArray().Count == 2),
            TimeSpan.FromSeconds(30),
            "capacity samples of both regions");

        Assert.Equal(1, history["sampleSeconds"]!.GetValue<int>());
        var last = history["samples"]!.AsArray().Last(s => s!["regions"]!.AsArray().Count == 2)!;
        Assert.Equal(["eu-west", "us-east"], last["regions"]!.AsArray().Select(r => r!["region"]!.GetValue<string>()));
        Assert.All(last["regions"]!.AsArray(), r => Assert.Equal(4, r!["allocation"]!["idle"]!.GetValue<int>()));
    }

    [Fact]
    public async Task CapacityHistory_CustomerToken_Returns403()
    {
        using var customer = Server.CreateClient(fixture.Acme.Token);

        using var response = await customer.GetAsync("/admin/v1/capacity/history");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
