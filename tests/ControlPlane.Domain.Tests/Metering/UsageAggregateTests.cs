using ControlPlane.Domain.Metering;
using CsCheck;

namespace ControlPlane.Domain.Tests.Metering;

public sealed class UsageAggregateTests
{
    [Fact]
    public void Add_SameModelAndRate_SumsTokens()
    {
        var a = new UsageAggregate("m", new Rate(1m, 2m), 10, 20);

        Assert.Equal(new UsageAggregate("m", new Rate(1m, 2m), 13, 24), a.Add(new UsageAggregate("m", new Rate(1.00m, 2.0m), 3, 4)));
    }

    [Fact]
    public void Add_OtherModelOrRate_Throws()
    {
        var a = new UsageAggregate("m", new Rate(1m, 2m), 10, 20);

        Assert.Throws<ArgumentException>(() => a.Add(a with { Model = "n" }));
        Assert.Throws<ArgumentException>(() => a.Add(a with { ListRate = new Rate(1m, 2.5m) }));
    }

    [Fact]
    public void Add_TokenTotalPastLong_ThrowsInsteadOfWrapping()
    {
        var a = new UsageAggregate("m", new Rate(1m, 2m), long.MaxValue, 0);

        Assert.Throws<OverflowException>(() => a.Add(a with { InputTokens = 1 }));
    }

    [Fact]
    public void Merge_AnyEvents_KeepsOneAggregatePerModelAndRateAndEveryToken()
    {
        var rate = Gen.OneOf(new Rate(1m, 2m), new Rate(1.0m, 2.00m), new Rate(3m, 15m));
        var usage = Gen.Select(Gen.OneOf("a", "b"), rate, Gen.Long[0, 1_000_000], Gen.Long[0, 1_000_000])
            .Select((m, r, i, o) => new UsageAggregate(m, r, i, o));

        usage.Array[0, 50].Sample(events =>
        {
            var merged = UsageAggregate.Merge(events);
            return merged.Count == events.Select(e => (e.Model, e.ListRate)).Distinct().Count()
                && merged.Sum(a => a.InputTokens) == events.Sum(e => e.InputTokens)
                && merged.Sum(a => a.OutputTokens) == events.Sum(e => e.OutputTokens)
                && Pricing.PriceUsd(merged, 12.5m) == Pricing.PriceUsd(events, 12.5m);
        });
    }
}
