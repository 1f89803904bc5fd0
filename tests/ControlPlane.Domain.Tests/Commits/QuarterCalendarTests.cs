using ControlPlane.Domain.Commits;
using CsCheck;

namespace ControlPlane.Domain.Tests.Commits;

public sealed class QuarterCalendarTests
{
    private static DateTimeOffset Utc(int y, int m, int d) => new(y, m, d, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void StartAndEnd_FirstOfJanuary_AreCalendarQuarters()
    {
        var calendar = new QuarterCalendar(new DateOnly(2026, 1, 1), 4);

        Assert.Equal(Utc(2026, 1, 1), calendar.Start(1));
        Assert.Equal(Utc(2026, 4, 1), calendar.End(1));
        Assert.Equal(Utc(2026, 4, 1), calendar.Start(2));
        Assert.Equal(Utc(2026, 10, 1), calendar.Start(4));
        Assert.Equal(Utc(2027, 1, 1), calendar.TermEnd);
    }

    [Fact]
    public void StartAndEnd_ThirtyFirstOfJanuary_ClampToMonthEndWithoutDrift()
    {
        var calendar = new QuarterCalendar(new DateOnly(2026, 1, 31), 4);

        Assert.Equal(Utc(2026, 4, 30), calendar.End(1));
        Assert.Equal(Utc(2026, 7, 31), calendar.End(2));
        Assert.Equal(Utc(2026, 10, 31), calendar.End(3));
        Assert.Equal(Utc(2027, 1, 31), calendar.TermEnd);
    }

    [Fact]
    public void QuarterOf_Bounds_StartIsInsideEndIsNext()
    {
        var calendar = new QuarterCalendar(new DateOnly(2026, 1, 1), 4);

        Assert.Null(calendar.QuarterOf(Utc(2026, 1, 1).AddTicks(-1)));
        Assert.Equal(1, calendar.QuarterOf(Utc(2026, 1, 1)));
        Assert.Equal(1, calendar.QuarterOf(Utc(2026, 4, 1).AddTicks(-1)));
        Assert.Equal(2, calendar.QuarterOf(Utc(2026, 4, 1)));
        Assert.Equal(4, calendar.QuarterOf(Utc(2027, 1, 1).AddTicks(-1)));
        Assert.Null(calendar.QuarterOf(Utc(2027, 1, 1)));
    }

    [Fact]
    public void QuarterOf_OffsetTimestamp_UsesItsUtcInstant()
    {
        var calendar = new QuarterCalendar(new DateOnly(2026, 1, 1), 4);

        // 1 April 01:00 at +02:00 is still 31 March in UTC.
        Assert.Equal(1, calendar.QuarterOf(new DateTimeOffset(2026, 4, 1, 1, 0, 0, TimeSpan.FromHours(2))));
    }

    [Fact]
    public void QuarterOf_AnyInstantOfTheTerm_IsInsideTheQuarterItNames()
    {
        Gen.Select(Gen.Date[new DateTime(2000, 1, 1), new DateTime(2100, 1, 1)], Gen.Int[1, 40], Gen.Double[0, 1])
            .Sample((start, quarters, at) =>
            {
                var calendar = new QuarterCalendar(DateOnly.FromDateTime(start), quarters);
                var ticks = (long)((calendar.TermEnd - calendar.TermStart).Ticks * at);
                var instant = calendar.TermStart.AddTicks(Math.Min(ticks, (calendar.TermEnd - calendar.TermStart).Ticks - 1));
                var k = calendar.QuarterOf(instant);
                return k is { } q && calendar.Start(q) <= instant && instant < calendar.End(q)
                    && Enumerable.Range(1, quarters - 1).All(i => calendar.End(i) == calendar.Start(i + 1));
            });
    }
}
