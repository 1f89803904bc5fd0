using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;
using ControlPlane.Domain.Slas;
using CsCheck;

namespace ControlPlane.Domain.Tests.Slas;

public sealed class SlaCreditsTests
{
    private static readonly DateTimeOffset SetAt = new(2025, 12, 15, 0, 0, 0, TimeSpan.Zero);
    private static readonly SloTerms Terms = new("acme-chat", SloPeriod.Monthly, 99.9m, [new(99.9m, 10m), new(99m, 25m)], SetAt);
    private static readonly SloPeriodSpan January = new(1, new DateOnly(2026, 1, 1), new DateOnly(2026, 2, 1));
    private static readonly Rate ListRate = new(3m, 15m);

    // January has 44,640 minutes: 99.9% of them is 44,595.36.
    private static SlaPeriodInput Input(long met, long missed, long inputTokens = 1_000_000, long outputTokens = 1_000_000) =>
        new(Terms, January, new SloMeasurement(44_640, met, missed), [new UsageAggregate("llama-70b", ListRate, inputTokens, outputTokens)]);

    [Fact]
    public void Assess_AtOrAboveTheTarget_NoCredit()
    {
        var a = SlaCredits.Assess(Input(44_596, 44), 0m);
        Assert.Null(a.Tier);
        Assert.Equal(0, a.CreditCents);
        Assert.Equal(1800, a.UsageCents);
    }

    [Fact]
    public void Assess_JustBelowTheTarget_TenPercentOfTheDiscountedUsage()
    {
        // 44,595 of 44,640 is 99.8991...%: below 99.9, not below 99. $18 at 20% off is $14.40; 10% is $1.44.
        var a = SlaCredits.Assess(Input(44_595, 45), 20m);
        Assert.Equal(new SloCreditTier(99.9m, 10m), a.Tier);
        Assert.Equal(144, a.CreditCents);
    }

    [Fact]
    public void Assess_UnmeasuredMinutesCountAgainstAttainment()
    {
        // No minute measured missed, but 1% of them unmeasured (the control plane was down): the 25% step.
        var a = SlaCredits.Assess(Input(44_640 - 447, 0), 0m);
        Assert.Equal(new SloCreditTier(99m, 25m), a.Tier);
        Assert.Equal(450, a.CreditCents);
    }

    [Fact]
    public void Assess_CreditRoundedOnceHalfAwayFromZero()
    {
        // 1,234,567 input tokens at $3/1M = $3.703701; 25% = $0.92592525 -> 93 cents (rounding the usage first would give 0.93 too,
        // but 3 tokens = $0.000009, 25% = $0.00000225 -> 0 cents, and 1,666,667 output tokens at $15/1M = $25.000005 x 10% = $2.5000005 -> $2.50).
        Assert.Equal(93, SlaCredits.Assess(Input(0, 44_640, 1_234_567, 0), 0m).CreditCents);
        Assert.Equal(0, SlaCredits.Assess(Input(0, 44_640, 3, 0), 0m).CreditCents);
        Assert.Equal(250, SlaCredits.Assess(Input(44_595, 45, 0, 1_666_667), 0m).CreditCents);
        // $0.05 x 10% = half a cent: away from zero.
        Assert.Equal(1, SlaCredits.Assess(Input(44_595, 45, 0, 3_334), 0m).CreditCents);
    }

    [Fact]
    public void Lines_OnlyCreditedPeriodsOfAtLeastACent_NegativeWithTheirMeasurement()
    {
        var lines = SlaCredits.Lines([Input(44_595, 45), Input(44_640, 0)], 0m);
        var line = Assert.Single(lines);
        Assert.Equal(InvoiceLineKind.SlaCredit, line.Kind);
        Assert.Equal(-180, line.AmountCents);
        Assert.Equal(new SlaCreditDetail("acme-chat", January.Start, January.End, 44_640, 44_595, 45, 99.8991m, 99.9m, 99.9m, 10m, 1800), line.Sla);
    }

    [Fact]
    public void InForce_TheLastTermsSetBeforeThePeriodEnded()
    {
        var later = Terms with { TargetPercent = 99m, Credits = [new(99m, 50m)], SetAt = new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero) };
        Assert.Same(Terms, SlaCredits.InForce([Terms, later], "acme-chat", January));
        Assert.Null(SlaCredits.InForce([later], "acme-chat", January));
        Assert.Null(SlaCredits.InForce([Terms], "other", January));
    }

    [Fact]
    public void Assess_AnyMeasurement_TheTierIsTheLowestThresholdAboveTheExactAttainment_CreditNeverAboveItsShare()
    {
        Gen.Select(Gen.Long[1, 200_000], Gen.Long[0, 200_000], Gen.Long[0, 10_000_000_000], Gen.Int[0, 99]).Sample((minutes, metRaw, tokens, discount) =>
        {
            var met = metRaw % (minutes + 1);
            var input = new SlaPeriodInput(Terms, January, new SloMeasurement(minutes, met, 0), [new UsageAggregate("m", ListRate, tokens, tokens / 3)]);
            var a = SlaCredits.Assess(input, discount);
            var attainment = (decimal)met / minutes * 100m;
            var expected = attainment < 99m ? 25m : attainment < 99.9m ? 10m : (decimal?)null;
            Assert.Equal(expected, a.Tier?.CreditPercent);
            var exact = Pricing.PriceUsd(input.Usage, discount) * (expected ?? 0m) / 100m;
            Assert.True(Math.Abs(a.CreditCents / 100m - exact) <= 0.005m);
        });
    }
}
