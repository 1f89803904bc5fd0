using ControlPlane.Domain.Commits;

namespace ControlPlane.Domain.Tests.Commits;

public sealed class CommitForecastTests
{
    // Quarters of a 2026 term: Q1 90 days, Q2 91, Q3 92, Q4 92.
    private static readonly ContractTerms Terms = new("c1", "acme", new DateOnly(2026, 1, 1), 4, 60_000, 0m, 100m);

    private static IReadOnlyList<QuarterLine> Book(long q1Usage, IReadOnlyList<TrueUp>? trueUps = null, long q2Usage = 0, int closedThrough = 0) =>
        QuarterBook.Compute(Terms, trueUps ?? [], [q1Usage, q2Usage, 0, 0], closedThrough);

    private static DateTimeOffset At(int year, int month, int day, int hour = 0) => new(year, month, day, hour, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Project_HalfTheCommitInAThirdOfTheQuarter_RunsOutAtTwoThirdsAndTrueUpCoversTheLongestQuarter()
    {
        // 30 000 cents in 30 days: 1 000 cents a day.
        var forecast = CommitForecasting.Project(Book(30_000), At(2026, 1, 31))!;

        Assert.Equal(1, forecast.Quarter);
        Assert.Equal(1_000, forecast.BurnCentsPerDay);
        Assert.Equal(At(2026, 3, 2), forecast.RunsOutAt);
        Assert.Equal(90_000, forecast.ProjectedUsageCents);
        // Q3 and Q4 have 92 days: 92 000 cents against a commit of 60 000.
        Assert.Equal(32_000, forecast.TrueUpCents);
    }

    [Fact]
    public void Project_BurnBelowTheCommit_NeitherRunsOutNorNeedsATrueUp()
    {
        var forecast = CommitForecasting.Project(Book(10_000), At(2026, 1, 31))!;

        Assert.Null(forecast.RunsOutAt);
        Assert.Equal(30_000, forecast.ProjectedUsageCents);
        Assert.Equal(0, forecast.TrueUpCents);
    }

    [Fact]
    public void Project_NothingUsed_IsAllZeroWithNoRunOut()
    {
        var forecast = CommitForecasting.Project(Book(0), At(2026, 2, 10))!;

        Assert.Equal(new CommitForecast(1, 0, null, 0, 0), forecast);
    }

    [Fact]
    public void Project_AtTheFirstInstantOfTheQuarter_HasNoBurnYet()
    {
        var forecast = CommitForecasting.Project(Book(0, q2Usage: 0, closedThrough: 1), At(2026, 4, 1))!;

        Assert.Equal(new CommitForecast(2, 0, null, 0, 0), forecast);
    }

    [Fact]
    public void Project_CommitAlreadyUsedUp_RunsOutBeforeNow()
    {
        var now = At(2026, 1, 31);

        var forecast = CommitForecasting.Project(Book(90_000), now)!;

        // 3 000 cents a day: 60 000 lasted 20 days.
        Assert.Equal(At(2026, 1, 21), forecast.RunsOutAt);
        Assert.True(forecast.RunsOutAt < now);
        // Q3 and Q4 project 276 000 each.
        Assert.Equal(276_000 - 60_000, forecast.TrueUpCents);
    }

    [Fact]
    public void Project_RolloverIntoTheCurrentQuarter_CountsInItsBalance()
    {
        // Q1 used 20 000 of 60 000: 40 000 roll into Q2, which has 100 000 available.
        var book = Book(20_000, q2Usage: 45_500, closedThrough: 1);

        // 45 500 cents in 45.5 days of Q2: 1 000 a day, 91 000 over its 91 days: covered.
        var forecast = CommitForecasting.Project(book, At(2026, 5, 16, 12))!;

        Assert.Equal(2, forecast.Quarter);
        Assert.Null(forecast.RunsOutAt);
        Assert.Equal(91_000, forecast.ProjectedUsageCents);
        Assert.Equal(92_000 - 60_000, forecast.TrueUpCents);
    }

    [Fact]
    public void Project_ExistingTrueUp_CountsInLaterQuartersCommit()
    {
        var forecast = CommitForecasting.Project(Book(30_000, [new TrueUp(40_000, 2, null)]), At(2026, 1, 31))!;

        // Q1 still needs 30 000 more; Q2 to Q4 have 100 000 against at most 92 000.
        Assert.Equal(30_000, forecast.TrueUpCents);
    }

    [Fact]
    public void Project_FractionalCents_RoundsProjectionUpAndRunOutDownToTheTick()
    {
        // 10 001 cents in 7 days: the projection over 90 days is 128 584.28... cents.
        var forecast = CommitForecasting.Project(Book(10_001), At(2026, 1, 8))!;

        Assert.Equal(128_585, forecast.ProjectedUsageCents);
        Assert.Equal(1_429, forecast.BurnCentsPerDay);
        var expectedTicks = decimal.Floor(60_000m * TimeSpan.FromDays(7).Ticks / 10_001m);
        Assert.Equal(At(2026, 1, 1).AddTicks(decimal.ToInt64(expectedTicks)), forecast.RunsOutAt);
    }

    [Theory]
    [InlineData(2025, 12, 31)]
    [InlineData(2027, 1, 1)]
    public void Project_OutsideTheTerm_IsNull(int year, int month, int day)
    {
        Assert.Null(CommitForecasting.Project(Book(0), At(year, month, day)));
    }
}
