using System.Numerics;
using ControlPlane.Domain.Metering;
using CsCheck;

namespace ControlPlane.Domain.Tests.Metering;

public sealed class PricingTests
{
    private static readonly Rate OneAndTwo = new(1m, 2m);

    [Fact]
    public void PriceUsd_TwelveAndAHalfPercentDiscount_IsExact()
    {
        var input = new UsageAggregate("m", new Rate(3m, 15m), 1_234_567, 0);
        var both = input with { OutputTokens = 1_234_567 };

        // 1,234,567 x 3 / 1e6 = 3.703701; x 0.875 = 3.240738375.
        Assert.Equal(3.240738375m, Pricing.PriceUsd([input], 12.5m));
        // Plus 1,234,567 x 15 / 1e6 = 18.518505; x 0.875 = 16.203691875.
        Assert.Equal(19.44443025m, Pricing.PriceUsd([both], 12.5m));
        Assert.Equal(324, Pricing.PriceCents([input], 12.5m));
        Assert.Equal(1944, Pricing.PriceCents([both], 12.5m));
    }

    [Fact]
    public void PriceCents_ManyTinyEvents_RoundsOnceOnTheAggregate()
    {
        // 1,001 events of 5,000 input tokens at $1/1M: each is $0.005, which alone rounds up to a cent.
        var events = Enumerable.Range(0, 1001).Select(_ => new UsageAggregate("m", OneAndTwo, 5_000, 0)).ToList();

        var perEvent = events.Sum(e => Pricing.PriceCents([e], 0m));
        var once = Pricing.PriceCents(UsageAggregate.Merge(events), 0m);

        Assert.Equal(1001, perEvent);
        Assert.Equal(501, once); // $5.005 rounds half away from zero once.
        Assert.Equal(once, Pricing.PriceCents(events, 0m));
    }

    [Fact]
    public void PriceUsd_SeveralModelsAndRates_SumsEachAtItsRate()
    {
        var usage = new[]
        {
            new UsageAggregate("small", new Rate(0.2m, 0.6m), 10_000_000, 5_000_000),
            new UsageAggregate("large", new Rate(3m, 15m), 2_000_000, 1_000_000),
            new UsageAggregate("large", new Rate(2.5m, 12.5m), 1_000_000, 0),
        };

        // 2 + 3 + 6 + 15 + 2.5 = 28.5, less 20%.
        Assert.Equal(22.8m, Pricing.PriceUsd(usage, 20m));
        Assert.Equal(28.5m, Pricing.PriceUsd(usage, 0m));
    }

    [Fact]
    public void PriceUsd_LargestAggregates_DoesNotOverflow()
    {
        var rate = new Rate(Rate.MaxUsdPer1M, 999.999999m);
        var usage = Enumerable.Range(0, 1000)
            .Select(i => new UsageAggregate($"m{i}", rate, 1_000_000_000_000_000, 1_000_000_000_000_000))
            .ToList();

        var price = Pricing.PriceUsd(usage, 12.5m);

        // Per aggregate: 1e15 x 10,000 / 1e6 + 1e15 x 999.999999 / 1e6 = 1e13 + 999,999,999,000.
        Assert.Equal((10_000_000_000_000m + 999_999_999_000m) * 1000m * 0.875m, price);
        Assert.Equal(962_499_999_912_500_000, Money(price));
    }

    [Fact]
    public void PriceCents_AnyRealisticUsage_EqualsExactRationalRounding()
    {
        var price = Gen.Long[0, 10_000_000_000].Select(micro => micro / 1_000_000m);
        var aggregate = Gen.Select(price, price, Gen.Long[0, 10_000_000_000], Gen.Long[0, 10_000_000_000])
            .Select((pin, pout, input, output) => new UsageAggregate("m", new Rate(pin, pout), input, output));
        var discount = Gen.Frequency((1, Gen.Const(0m)), (1, Gen.Const(12.5m)), (3, Gen.Int[0, 999_999].Select(d => d / 10_000m)));

        Gen.Select(aggregate.Array[0, 10], discount).Sample((usage, d) =>
            Pricing.PriceCents(usage, d) == ExactCents(usage, d));
    }

    [Fact]
    public void PriceUsd_DiscountOfOneHundredOrMore_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Pricing.PriceUsd([], 100m));
        Assert.Throws<ArgumentOutOfRangeException>(() => Pricing.PriceUsd([], 100.01m));
        Assert.Throws<ArgumentOutOfRangeException>(() => Pricing.PriceUsd([], -1m));
    }

    private static long Money(decimal usd) => ControlPlane.Domain.Commits.Money.RoundToCents(usd);

    // The price in cents from integers only: sum(tokens x price x 1e6) x (100 - d) x 1e4 / 1e16, rounded half up.
    private static long ExactCents(IEnumerable<UsageAggregate> usage, decimal discountPercent)
    {
        var numerator = BigInteger.Zero;
        foreach (var a in usage)
        {
            numerator += a.InputTokens * (BigInteger)(a.ListRate.InputUsdPer1M * 1_000_000m)
                + a.OutputTokens * (BigInteger)(a.ListRate.OutputUsdPer1M * 1_000_000m);
        }

        numerator *= (BigInteger)((100m - discountPercent) * 10_000m);
        var denominator = BigInteger.Pow(10, 16);
        var quotient = BigInteger.DivRem(numerator, denominator, out var remainder);
        return (long)(remainder * 2 >= denominator ? quotient + 1 : quotient);
    }
}
