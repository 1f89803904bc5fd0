using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Slas;

namespace ControlPlane.Domain.Tests.Slas;

public sealed class SloTermsTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static SloTerms Terms(decimal target, params (decimal Below, decimal Credit)[] tiers) =>
        new("acme-chat", SloPeriod.Monthly, target, tiers.Select(t => new SloCreditTier(t.Below, t.Credit)).ToList(), At);

    [Fact]
    public void Validate_TheIssuesExample_IsValid() =>
        Assert.Empty(Terms(99.9m, (99.9m, 10m), (99m, 25m)).Validate());

    [Theory]
    [InlineData(0, "targetPercent")]
    [InlineData(100.1, "targetPercent")]
    [InlineData(99.99999, "targetPercent")]
    public void Validate_BadTarget_NamesTheField(double target, string field) =>
        Assert.Contains(field, Terms((decimal)target, (90m, 10m)).Validate().Keys);

    [Fact]
    public void Validate_ThresholdAboveTheTarget_Refused() =>
        Assert.Equal(["credits[0].belowPercent"], Terms(99m, (99.5m, 10m)).Validate().Keys);

    [Fact]
    public void Validate_LowerThresholdWithASmallerCredit_Refused() =>
        Assert.Equal(["credits"], Terms(99.9m, (99.9m, 25m), (99m, 10m)).Validate().Keys);

    [Fact]
    public void Validate_TwoStepsAtOneThreshold_Refused() =>
        Assert.Equal(["credits"], Terms(99.9m, (99m, 10m), (99m, 25m)).Validate().Keys);

    [Fact]
    public void Validate_NoStepsOrTooMany_Refused()
    {
        Assert.Equal(["credits"], Terms(99.9m).Validate().Keys);
        var many = Enumerable.Range(0, SloTerms.MaxTiers + 1).Select(i => (90m - i, 1m + i)).ToArray();
        Assert.Equal(["credits"], Terms(99.9m, many).Validate().Keys);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100.5)]
    public void Validate_BadCredit_Refused(double credit) =>
        Assert.Equal(["credits[0].creditPercent"], Terms(99.9m, (99m, (decimal)credit)).Validate().Keys);

    [Fact]
    public void Validate_BadDeploymentId_Refused() =>
        Assert.Contains("deploymentId", (Terms(99.9m, (99m, 10m)) with { DeploymentId = "../x" }).Validate().Keys);

    [Fact]
    public void Periods_MonthlyOfAQuarterStartingOn31January_ClampedAndEndingWithTheQuarter()
    {
        var calendar = new QuarterCalendar(new DateOnly(2026, 1, 31), 2);
        var periods = SloPeriods.Of(calendar, 1, SloPeriod.Monthly);
        Assert.Equal(
            [(new DateOnly(2026, 1, 31), new DateOnly(2026, 2, 28)), (new DateOnly(2026, 2, 28), new DateOnly(2026, 3, 31)), (new DateOnly(2026, 3, 31), new DateOnly(2026, 4, 30))],
            periods.Select(p => (p.Start, p.End)));
        Assert.Equal(calendar.EndDay(1), periods[^1].End);
        Assert.Equal(calendar.StartDay(2), SloPeriods.Of(calendar, 2, SloPeriod.Monthly)[0].Start);
    }

    [Fact]
    public void Periods_Quarterly_AreTheQuarters()
    {
        var calendar = new QuarterCalendar(new DateOnly(2026, 1, 1), 4);
        var period = Assert.Single(SloPeriods.Of(calendar, 3, SloPeriod.Quarterly));
        Assert.Equal((3, calendar.StartDay(3), calendar.EndDay(3)), (period.Quarter, period.Start, period.End));
    }
}
