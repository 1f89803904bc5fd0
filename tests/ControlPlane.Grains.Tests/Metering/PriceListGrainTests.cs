using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Metering;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Metering;

/// <summary>
/// The list prices on real PostgreSQL storage (a fresh list key per test): the same price again changes nothing, a
/// price never takes effect before the one in force, and the history survives a new activation.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class PriceListGrainTests(AdoNetClusterFixture fixture) : IClassFixture<AdoNetClusterFixture>
{
    private static readonly DateTimeOffset January = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private IPriceListGrain NewList() =>
        fixture.Cluster.Client.GetGrain<IPriceListGrain>("prices:test-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task SetPriceAsync_TheSamePriceAgain_ChangesNothingNotEvenTheVersion()
    {
        var list = NewList();
        var first = await list.SetPriceAsync("m", new Rate(1m, 2m), January);
        var version = (await list.GetAsync()).Version;

        var again = await list.SetPriceAsync("m", new Rate(1.00m, 2.0m), January.AddMonths(1));

        Assert.Equal(first, again);
        var prices = await list.GetAsync();
        Assert.Equal(version, prices.Version);
        Assert.Equal([first], prices.Models["m"]);
    }

    [Fact]
    public async Task SetPriceAsync_EffectiveBeforeThePriceInForce_TakesEffectWithItAndEventsArePricedByTime()
    {
        var list = NewList();
        await list.SetPriceAsync("m", new Rate(1m, 2m), January);
        await list.SetPriceAsync("m", new Rate(3m, 4m), January.AddMonths(2));

        // A change dated before the last one cannot rewrite history: it takes effect with the last.
        var backdated = await list.SetPriceAsync("m", new Rate(5m, 6m), January.AddMonths(1));
        Assert.Equal(January.AddMonths(2), backdated.EffectiveFrom);

        await fixture.Cluster.DeactivateAsync(list);
        var prices = await list.GetAsync();
        Assert.Equal([January, January.AddMonths(2), January.AddMonths(2)], prices.Models["m"].Select(p => p.EffectiveFrom));
        // Usage is priced by its time: before the first price at the first, and the latest of equal dates wins.
        Assert.Equal(new Rate(1m, 2m), prices.RateAt("m", January.AddDays(-1)));
        Assert.Equal(new Rate(1m, 2m), prices.RateAt("m", January.AddMonths(1)));
        Assert.Equal(new Rate(5m, 6m), prices.RateAt("m", January.AddMonths(3)));
        Assert.Null(prices.RateAt("other", January));
        Assert.Equal(3, prices.Version);
    }
}
