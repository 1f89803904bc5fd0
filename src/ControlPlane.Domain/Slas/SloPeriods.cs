using ControlPlane.Domain.Commits;

namespace ControlPlane.Domain.Slas;

/// <summary>One SLO period of a contract term, [Start, End) at 00:00 UTC, inside quarter <paramref name="Quarter"/>.</summary>
[GenerateSerializer, Alias("slo-period-span")]
public sealed record SloPeriodSpan(
    [property: Id(0)] int Quarter,
    [property: Id(1)] DateOnly Start,
    [property: Id(2)] DateOnly End)
{
    public DateTimeOffset StartAt => new(Start.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    public DateTimeOffset EndAt => new(End.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
}

/// <summary>
/// The SLO periods of a term. Like <see cref="QuarterCalendar"/>, every bound is the start date plus a whole number of
/// months (clamped to the month's last day), so the months of a quarter end exactly where the quarter ends and a
/// period never straddles two quarters: a period's credit always belongs to the close of one quarter.
/// </summary>
public static class SloPeriods
{
    /// <summary>The periods of quarter <paramref name="quarter"/>, in order.</summary>
    public static IReadOnlyList<SloPeriodSpan> Of(QuarterCalendar calendar, int quarter, SloPeriod period)
    {
        var start = calendar.StartDay(quarter);
        if (period == SloPeriod.Quarterly)
        {
            return [new SloPeriodSpan(quarter, start, calendar.EndDay(quarter))];
        }

        var first = QuarterCalendar.MonthsPerQuarter * (quarter - 1);
        return Enumerable.Range(first, QuarterCalendar.MonthsPerQuarter)
            .Select(m => new SloPeriodSpan(quarter, calendar.StartDate.AddMonths(m), calendar.StartDate.AddMonths(m + 1)))
            .ToList();
    }

    /// <summary>Every period of the term that has started by <paramref name="now"/>, in order.</summary>
    public static IEnumerable<SloPeriodSpan> StartedBy(QuarterCalendar calendar, SloPeriod period, DateTimeOffset now) =>
        Enumerable.Range(1, calendar.Quarters)
            .TakeWhile(q => calendar.Start(q) <= now)
            .SelectMany(q => Of(calendar, q, period))
            .Where(p => p.StartAt <= now);
}
