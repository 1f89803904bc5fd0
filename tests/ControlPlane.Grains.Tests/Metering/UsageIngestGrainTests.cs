using ControlPlane.Contracts;
using ControlPlane.Contracts.Commits;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Metering;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Metering;

/// <summary>
/// The ingest worker on real PostgreSQL storage (fresh models and customers per test, on the shared price list): a batch
/// naming an unknown model counts nothing, each event goes to the ledger of the contract covering its time (else
/// pay-as-you-go) and its day's bucket, at the rate in force at its time, and a resent batch counts nothing twice.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class UsageIngestGrainTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private IGrainFactory Grains => fixture.Cluster.Client;

    private static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private async Task<string> PricedModelAsync(params (Rate Rate, DateTimeOffset From)[] prices)
    {
        var model = NewId("model");
        foreach (var (rate, from) in prices)
        {
            await Grains.GetGrain<IPriceListGrain>(GrainKeys.PriceList).SetPriceAsync(model, rate, from);
        }

        return model;
    }

    private Task<IngestResult> IngestAsync(params UsageEvent[] events) =>
        Grains.GetGrain<IUsageIngestGrain>(0).IngestAsync(new UsageBatch(NewId("batch"), [.. events]));

    private Task<BucketTotals> BucketAsync(string customer, DateTimeOffset day, string ledger) =>
        Grains.GetGrain<IUsageBucketGrain>(GrainKeys.UsageBucket(customer, DateOnly.FromDateTime(day.UtcDateTime))).GetAsync(ledger);

    [Fact]
    public async Task IngestAsync_AnEventOfAnUnknownModel_CountsNothingAndNamesTheEvent()
    {
        var model = await PricedModelAsync((new Rate(1m, 2m), Start));
        var customer = NewId("cust");
        var at = Start.AddDays(10);

        var result = await IngestAsync(
            new UsageEvent("e1", customer, "d", model, 1_000, 100, at),
            new UsageEvent("e2", customer, "d", "no-such-model", 1_000, 100, at));

        Assert.Equal((0, 0), (result.Accepted, result.Duplicates));
        var error = Assert.Single(result.Errors!);
        Assert.Equal("events[1]", error.Key);
        Assert.Contains("no-such-model", Assert.Single(error.Value));
        Assert.Empty((await BucketAsync(customer, at, GrainKeys.PayAsYouGoLedger(customer))).Counted);
    }

    [Fact]
    public async Task IngestAsync_EventsInAndOutsideAContract_GoToItsLedgerOrPayAsYouGoAtTheRateOfTheirTime()
    {
        var before = new Rate(1m, 2m);
        var after = new Rate(3m, 4m);
        var model = await PricedModelAsync((before, Start), (after, Start.AddMonths(2)));
        var customer = NewId("cust");
        var contract = NewId("contract");
        Assert.True(await Grains.GetGrain<ICustomerGrain>(GrainKeys.Customer(customer))
            .AddContractAsync(new ContractTerm(contract, Start, Start.AddMonths(3))));
        var inContractEarly = Start.AddDays(14).AddHours(3);
        var inContractLate = Start.AddMonths(2).AddDays(1);
        var outside = Start.AddMonths(4);

        var result = await IngestAsync(
            new UsageEvent("a", customer, "d", model, 1_000, 10, inContractEarly),
            new UsageEvent("b", customer, "d", model, 2_000, 20, inContractEarly.AddMinutes(5)),
            new UsageEvent("c", customer, "d", model, 4_000, 40, inContractLate),
            new UsageEvent("e", customer, "d", model, 8_000, 80, outside));

        Assert.Equal((4, 0), (result.Accepted, result.Duplicates));
        Assert.Null(result.Errors);
        Assert.Equal(
            [new UsageAggregate(model, before, 3_000, 30)],
            (await BucketAsync(customer, inContractEarly, GrainKeys.ContractLedger(contract))).Counted);
        Assert.Equal(
            [new UsageAggregate(model, after, 4_000, 40)],
            (await BucketAsync(customer, inContractLate, GrainKeys.ContractLedger(contract))).Counted);
        Assert.Equal(
            [new UsageAggregate(model, after, 8_000, 80)],
            (await BucketAsync(customer, outside, GrainKeys.PayAsYouGoLedger(customer))).Counted);
        Assert.Empty((await BucketAsync(customer, outside, GrainKeys.ContractLedger(contract))).Counted);
    }

    [Fact]
    public async Task IngestAsync_TheSameEventsResentInAnotherBatch_AreDuplicatesAndCountedOnce()
    {
        var model = await PricedModelAsync((new Rate(1m, 2m), Start));
        var customer = NewId("cust");
        var day = Start.AddDays(20);
        UsageEvent[] events =
        [
            new("r1", customer, "d", model, 1_000, 0, day),
            new("r2", customer, "d", model, 1_000, 0, day.AddDays(1)),
        ];
        var first = await IngestAsync(events);
        Assert.Equal((2, 0), (first.Accepted, first.Duplicates));

        var resent = await IngestAsync([.. events, new UsageEvent("r3", customer, "d", model, 1_000, 0, day)]);

        Assert.Equal((1, 2), (resent.Accepted, resent.Duplicates));
        Assert.Equal(2_000, Assert.Single((await BucketAsync(customer, day, GrainKeys.PayAsYouGoLedger(customer))).Counted).InputTokens);
        Assert.Equal(1_000, Assert.Single((await BucketAsync(customer, day.AddDays(1), GrainKeys.PayAsYouGoLedger(customer))).Counted).InputTokens);
    }
}
