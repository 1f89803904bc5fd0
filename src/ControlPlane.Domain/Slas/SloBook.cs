namespace ControlPlane.Domain.Slas;

/// <summary>One UTC day of a deployment's minute verdicts.</summary>
[GenerateSerializer, Alias("slo-day")]
public sealed record SloDay(
    [property: Id(0)] int MetMinutes,
    [property: Id(1)] int MissedMinutes);

/// <summary>When a deployment existed: [From, Until), Until null while it does.</summary>
[GenerateSerializer, Alias("slo-life")]
public sealed record SloLife(
    [property: Id(0)] DateTimeOffset From,
    [property: Id(1)] DateTimeOffset? Until);

/// <summary>
/// A deployment's SLO measurement over a span. <see cref="Minutes"/> are the whole minutes of the span during which the
/// deployment existed (up to the time of the measurement); each is met, missed (measured and not covered) or
/// unmeasured (no verdict: nothing watched it). Attainment counts only met minutes: an unmeasured minute is never
/// taken as met.
/// </summary>
[GenerateSerializer, Alias("slo-measurement")]
public sealed record SloMeasurement(
    [property: Id(0)] long Minutes,
    [property: Id(1)] long MetMinutes,
    [property: Id(2)] long MissedMinutes)
{
    public static readonly SloMeasurement None = new(0, 0, 0);

    public long UnmeasuredMinutes => Minutes - MetMinutes - MissedMinutes;

    /// <summary>Met minutes over minutes in percent, rounded down to 4 decimals (so it is never shown above a threshold it is below); null without minutes.</summary>
    public decimal? AttainmentPercent => Minutes == 0
        ? null
        : decimal.Floor(MetMinutes * 100m * 10_000m / Minutes) / 10_000m;

    /// <summary>Whether attainment is below <paramref name="percent"/>, exactly (no rounded attainment is compared).</summary>
    public bool Below(decimal percent) => Minutes > 0 && MetMinutes * 100m < percent * Minutes;
}

/// <summary>
/// The durable record of one deployment's minute verdicts (<see cref="SloMinuteTracker"/>): met and missed minutes per
/// UTC day, the last minute recorded, and when the deployment existed. Verdicts are taken once each, in order: one at
/// or before the last minute recorded is a repeat (a retried delivery, a restarted measurer) and changes nothing, so a
/// minute is never counted twice. Pure; its grain stores it as one record.
/// </summary>
[GenerateSerializer, Alias("slo-book")]
public sealed class SloBook
{
    [Id(0)] public List<SloLife> Lives { get; set; } = [];

    /// <summary>The last minute (its start) with a verdict recorded; null before the first.</summary>
    [Id(1)] public DateTimeOffset? LastMinute { get; set; }

    [Id(2)] public Dictionary<DateOnly, SloDay> Days { get; set; } = new();

    /// <summary>The deployment exists from <paramref name="at"/> (its creation). True when that changed anything.</summary>
    public bool Start(DateTimeOffset at)
    {
        if (Lives.Count > 0 && Lives[^1].Until is null)
        {
            return false;
        }

        Lives.Add(new SloLife(at.ToUniversalTime(), null));
        return true;
    }

    /// <summary>The deployment was deleted at <paramref name="at"/>. True when that changed anything.</summary>
    public bool Stop(DateTimeOffset at)
    {
        if (Lives.Count == 0 || Lives[^1].Until is not null)
        {
            return false;
        }

        Lives[^1] = Lives[^1] with { Until = at < Lives[^1].From ? Lives[^1].From : at.ToUniversalTime() };
        return true;
    }

    /// <summary>Records the verdicts not recorded yet (later than <see cref="LastMinute"/>, inside a life); returns how many.</summary>
    public int Record(IEnumerable<SloMinuteVerdict> verdicts)
    {
        var taken = 0;
        foreach (var v in verdicts.OrderBy(v => v.Minute))
        {
            var minute = SloMinute.Floor(v.Minute);
            if ((LastMinute is { } last && minute <= last) || !Lived(minute))
            {
                continue;
            }

            var day = DateOnly.FromDateTime(minute.UtcDateTime);
            var counts = Days.GetValueOrDefault(day) ?? new SloDay(0, 0);
            Days[day] = v.Met ? counts with { MetMinutes = counts.MetMinutes + 1 } : counts with { MissedMinutes = counts.MissedMinutes + 1 };
            LastMinute = minute;
            taken++;
        }

        return taken;
    }

    /// <summary>
    /// The measurement of [<paramref name="from"/>, <paramref name="to"/>) as of <paramref name="asOf"/>: the whole minutes
    /// the deployment lived in the span before <paramref name="asOf"/>, and the verdicts recorded for them. The span's
    /// bounds are whole days (SLO periods), so verdicts are summed per day.
    /// </summary>
    public SloMeasurement Measure(DateTimeOffset from, DateTimeOffset to, DateTimeOffset asOf)
    {
        var end = SloMinute.Floor(asOf < to ? asOf : to);
        long minutes = 0;
        foreach (var life in Lives)
        {
            var start = SloMinute.Ceiling(life.From > from ? life.From : from);
            var stop = SloMinute.Floor(life.Until is { } until && until < end ? until : end);
            if (stop > start)
            {
                minutes += (long)(stop - start).TotalMinutes;
            }
        }

        long met = 0, missed = 0;
        var firstDay = DateOnly.FromDateTime(from.UtcDateTime);
        var lastDay = DateOnly.FromDateTime(to.UtcDateTime);
        foreach (var (day, counts) in Days)
        {
            if (day >= firstDay && day < lastDay)
            {
                met += counts.MetMinutes;
                missed += counts.MissedMinutes;
            }
        }

        // Verdicts are recorded only for lived minutes that have passed, so they never outnumber the minutes (asOf is now,
        // or a period's end): nothing is clamped here, so a minute counted twice would show.
        return new SloMeasurement(minutes, met, missed);
    }

    /// <summary>Whether the whole minute starting at <paramref name="minute"/> lies inside a life.</summary>
    private bool Lived(DateTimeOffset minute) =>
        Lives.Any(l => SloMinute.Ceiling(l.From) <= minute && (l.Until is not { } until || minute.AddMinutes(1) <= until));
}
