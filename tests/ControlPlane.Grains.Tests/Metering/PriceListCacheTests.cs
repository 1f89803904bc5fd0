using System.Diagnostics;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Metering;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Orleans.TestingHost;
using Xunit;

namespace ControlPlane.Grains.Tests.Metering;

/// <summary>
/// Each silo prices usage from its own leased copy of the price list, on a three-silo cluster: a change is used by the
/// very next batch on every silo, an unknown model is still refused, the price list moving silo loses nothing, and the
/// price list is not called per batch.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class PriceListCacheTests(MultiSiloClusterFixture fixture) : IClassFixture<MultiSiloClusterFixture>
{
    private static readonly Rate Old = new(1m, 2m);
    private static readonly Rate New = new(3m, 5m);

    // Today, early: both prices' times and every event fall in one UTC day, so one bucket holds them.
    private static readonly DateTimeOffset Morning = new(DateTime.UtcNow.Date.AddMinutes(1), TimeSpan.Zero);

    private IPriceListGrain PriceList => fixture.Cluster.Client.GetGrain<IPriceListGrain>(GrainKeys.PriceList);

    [Fact]
    public async Task IngestAsync_PriceChanged_TheNextBatchOnThisSiloAndOnTheOthersUsesIt()
    {
        var (customer, model) = NewCustomerAndModel();
        await PriceList.SetPriceAsync(model, Old, DateTimeOffset.UnixEpoch);
        var silos = fixture.Cluster.Silos.ToList();
        foreach (var silo in silos)
        {
            // Each silo's copy holds the old price (and a lease).
            Assert.Equal(1, (await IngestAsync(silo, customer, model, 1_000, Morning)).Accepted);
        }

        var changedAt = Morning.AddSeconds(1);
        await fixture.GrainsOf(silos[0]).GetGrain<IPriceListGrain>(GrainKeys.PriceList).SetPriceAsync(model, New, changedAt);
        for (var i = 0; i < silos.Count; i++)
        {
            Assert.Equal(1, (await IngestAsync(silos[i], customer, model, 10 * (i + 1), changedAt)).Accepted);
        }

        var counted = await CountedAsync(customer);
        Assert.Equal(3_000, counted.Single(a => a.ListRate == Old).InputTokens);
        Assert.Equal(60, counted.Single(a => a.ListRate == New).InputTokens);
    }

    [Fact]
    public async Task IngestAsync_UnknownModel_IsRefusedUntilPricedThroughAnotherSilo()
    {
        var (customer, model) = NewCustomerAndModel();
        var silos = fixture.Cluster.Silos.ToList();

        var refused = await IngestAsync(silos[1], customer, model, 1_000, Morning);
        Assert.Equal(0, refused.Accepted);
        Assert.Contains($"unknown model '{model}'", Assert.Single(refused.Errors!).Value.Single(), StringComparison.Ordinal);

        await fixture.GrainsOf(silos[2]).GetGrain<IPriceListGrain>(GrainKeys.PriceList).SetPriceAsync(model, Old, DateTimeOffset.UnixEpoch);
        Assert.Equal(1, (await IngestAsync(silos[1], customer, model, 1_000, Morning)).Accepted);
        Assert.Equal(1_000, Assert.Single(await CountedAsync(customer)).InputTokens);
    }

    [Fact]
    public async Task IngestAsync_ManyBatches_CallThePriceListFarFewerTimes()
    {
        const int Batches = 90;
        var (customer, model) = NewCustomerAndModel();
        await PriceList.SetPriceAsync(model, Old, DateTimeOffset.UnixEpoch);
        var silos = fixture.Cluster.Silos.ToList();
        var before = fixture.Calls.Count(PriceList);
        var elapsed = Stopwatch.StartNew();

        for (var i = 0; i < Batches; i++)
        {
            Assert.Equal(1, (await IngestAsync(silos[i % silos.Count], customer, model, 1, Morning)).Accepted);
        }

        var calls = fixture.Calls.Count(PriceList) - before;
        // At most one lease per silo to start with and one each half lease after (a count, not a speed).
        var halfLease = TimeSpan.FromSeconds(MultiSiloClusterFixture.PriceLeaseSeconds / 2.0);
        Assert.InRange(calls, 0, silos.Count * (2 + (int)(elapsed.Elapsed / halfLease)));
        Assert.True(calls < Batches / 3, $"{calls} calls to the price list for {Batches} batches");
        Assert.Equal(Batches, Assert.Single(await CountedAsync(customer)).InputTokens);
    }

    [Fact]
    public async Task SetPriceAsync_AfterThePriceListsSiloStopped_TheNextBatchOnEverySiloUsesIt()
    {
        var (customer, model) = NewCustomerAndModel();
        await PriceList.SetPriceAsync(model, Old, DateTimeOffset.UnixEpoch);
        foreach (var silo in fixture.Cluster.Silos.ToList())
        {
            Assert.Equal(1, (await IngestAsync(silo, customer, model, 1_000, Morning)).Accepted);
        }

        // The price list's silo goes (its copies on the other silos keep their leases), and a new silo comes.
        var home = fixture.SiloOf(PriceList);
        await fixture.Cluster.StopSiloAsync(home, TestContext.Current.CancellationToken);
        await fixture.Cluster.StartAdditionalSiloAsync();
        var silos = fixture.Cluster.Silos.ToList();
        Assert.DoesNotContain(silos, s => s.SiloAddress.Equals(home.SiloAddress));

        var changedAt = Morning.AddSeconds(1);
        await fixture.GrainsOf(silos[0]).GetGrain<IPriceListGrain>(GrainKeys.PriceList).SetPriceAsync(model, New, changedAt);
        foreach (var silo in silos)
        {
            Assert.Equal(1, (await IngestAsync(silo, customer, model, 10, changedAt)).Accepted);
        }

        var counted = await CountedAsync(customer);
        Assert.Equal(3_000, counted.Single(a => a.ListRate == Old).InputTokens);
        Assert.Equal(10 * silos.Count, counted.Single(a => a.ListRate == New).InputTokens);
    }

    private static (string Customer, string Model) NewCustomerAndModel()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        return ("cust-" + id, "model-" + id);
    }

    private Task<IngestResult> IngestAsync(InProcessSiloHandle silo, string customer, string model, long inputTokens, DateTimeOffset at)
    {
        var eventId = "e-" + Guid.NewGuid().ToString("N");
        return fixture.GrainsOf(silo).GetGrain<IUsageIngestGrain>(0).IngestAsync(new UsageBatch(
            "b-" + eventId,
            [new UsageEvent(eventId, customer, "dep-1", model, inputTokens, 0, at)]));
    }

    private async Task<List<UsageAggregate>> CountedAsync(string customer) =>
        (await fixture.Cluster.Client.GetGrain<IUsageBucketGrain>(GrainKeys.UsageBucket(customer, DateOnly.FromDateTime(Morning.UtcDateTime)))
            .GetAsync(GrainKeys.PayAsYouGoLedger(customer))).Counted;
}
