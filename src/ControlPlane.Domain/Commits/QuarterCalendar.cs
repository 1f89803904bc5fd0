namespace ControlPlane.Domain.Commits;

/// <summary>
/// The quarters of a contract term. Quarter k (1-based) is [start + 3(k-1) months, start + 3k months)
/// at 00:00 UTC, each bound computed from the start date with <see cref="DateOnly.AddMonths"/>, so a
/// bound that falls past the end of a month is clamped to its last day and later bounds do not drift:
/// a term starting on 31 January has quarters starting 31 Jan, 30 Apr, 31 Jul and 31 Oct, and ends on
/// 31 January of the next year. Consecutive quarters share their bound, so every instant of the term
/// (and every UTC day) belongs to exactly one quarter.
/// </summary>
public sealed class QuarterCalendar
{
    public const int MonthsPerQuarter = 3;

    private readonly DateOnly[] _bounds;

    /// <param name="startDate">First day of the term (UTC).</param>
    /// <param name="quarters">Quarters in the term, at least 1.</param>
    public QuarterCalendar(DateOnly startDate, int quarters)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quarters, 1);
        StartDate = startDate;
        Quarters = quarters;
        _bounds = new DateOnly[quarters + 1];
        for (var k = 0; k <= quarters; k++)
        {
            _bounds[k] = startDate.AddMonths(MonthsPerQuarter * k);
        }
    }

    public DateOnly StartDate { get; }

    public int Quarters { get; }

    /// <summary>When the term begins: the start of quarter 1.</summary>
    public DateTimeOffset TermStart => Start(1);

    /// <summary>When the term ends: the end of the last quarter (exclusive).</summary>
    public DateTimeOffset TermEnd => End(Quarters);

    /// <summary>The first instant of quarter <paramref name="quarter"/>.</summary>
    public DateTimeOffset Start(int quarter) => AtMidnightUtc(_bounds[CheckQuarter(quarter) - 1]);

    /// <summary>The end of quarter <paramref name="quarter"/>: the first instant after it (the next quarter's start).</summary>
    public DateTimeOffset End(int quarter) => AtMidnightUtc(_bounds[CheckQuarter(quarter)]);

    /// <summary>The first day of quarter <paramref name="quarter"/>.</summary>
    public DateOnly StartDay(int quarter) => _bounds[CheckQuarter(quarter) - 1];

    /// <summary>The day after the last day of quarter <paramref name="quarter"/>.</summary>
    public DateOnly EndDay(int quarter) => _bounds[CheckQuarter(quarter)];

    /// <summary>The quarter containing <paramref name="timestamp"/>, or null outside the term.</summary>
    public int? QuarterOf(DateTimeOffset timestamp) => QuarterOf(DateOnly.FromDateTime(timestamp.UtcDateTime));

    /// <summary>The quarter containing the UTC day <paramref name="day"/>, or null outside the term.</summary>
    public int? QuarterOf(DateOnly day)
    {
        if (day < _bounds[0] || day >= _bounds[^1])
        {
            return null;
        }

        // The bound at index k is the start of quarter k + 1: the quarter is the number of bounds at or before the day.
        var index = Array.BinarySearch(_bounds, day);
        return index >= 0 ? index + 1 : ~index;
    }

    private static DateTimeOffset AtMidnightUtc(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    private int CheckQuarter(int quarter)
    {
        if (quarter < 1 || quarter > Quarters)
        {
            throw new ArgumentOutOfRangeException(nameof(quarter), quarter, $"A quarter of this term is between 1 and {Quarters}.");
        }

        return quarter;
    }
}
