namespace ControlPlane.Domain.Commits;

/// <summary>Where the current quarter's commit is heading if usage goes on at the rate it has had so far this quarter.</summary>
/// <param name="Quarter">The quarter that holds the instant of the forecast.</param>
/// <param name="BurnCentsPerDay">Usage so far this quarter per day elapsed in it (display only, rounded to the cent).</param>
/// <param name="RunsOutAt">
/// When the quarter's available balance (commit plus rollover) is used up at that burn; at or before the forecast's
/// instant when it already is; null when it lasts the quarter (or nothing was used).
/// </param>
/// <param name="ProjectedUsageCents">The quarter's usage at that burn over its whole length, rounded up to the cent.</param>
/// <param name="TrueUpCents">
/// The additional quarterly commit, effective from this quarter, that would cover the projected usage of this quarter
/// and of every later one in the term at that burn (0 when the commit already does). Later quarters count their commit
/// alone: at a burn above the commit nothing is left over to roll into them.
/// </param>
public sealed record CommitForecast(
    int Quarter,
    long BurnCentsPerDay,
    DateTimeOffset? RunsOutAt,
    long ProjectedUsageCents,
    long TrueUpCents);

/// <summary>The forecast arithmetic of the customer portal: exact decimals over ticks, rounded once per figure.</summary>
public static class CommitForecasting
{
    /// <summary>The forecast at <paramref name="now"/> from the quarter book; null when <paramref name="now"/> is outside the term.</summary>
    /// <param name="book">Every quarter of the term, as <see cref="QuarterBook.Compute"/> gives it.</param>
    /// <param name="now">The instant of the forecast.</param>
    public static CommitForecast? Project(IReadOnlyList<QuarterLine> book, DateTimeOffset now)
    {
        var index = -1;
        for (var i = 0; i < book.Count; i++)
        {
            if (book[i].Start <= now && now < book[i].End)
            {
                index = i;
                break;
            }
        }

        if (index < 0)
        {
            return null;
        }

        var current = book[index];
        var elapsedTicks = (now - current.Start).Ticks;
        if (elapsedTicks <= 0 || current.UsageCents <= 0)
        {
            return new CommitForecast(current.Quarter, 0, null, 0, 0);
        }

        // Usage over elapsed time is the burn; each figure multiplies before it divides, so a figure that is exact
        // (a whole number of cents or ticks) comes out exact, and is rounded once at its end.
        var usedSoFar = (decimal)current.UsageCents;
        var perDay = decimal.ToInt64(decimal.Round(usedSoFar * TimeSpan.TicksPerDay / elapsedTicks, 0, MidpointRounding.AwayFromZero));

        DateTimeOffset? runsOut = null;
        var ticksToEmpty = decimal.Floor(current.AvailableCents * (decimal)elapsedTicks / usedSoFar);
        if (ticksToEmpty < (current.End - current.Start).Ticks)
        {
            runsOut = current.Start.AddTicks(decimal.ToInt64(ticksToEmpty));
        }

        var trueUp = 0L;
        var projected = 0L;
        for (var i = index; i < book.Count; i++)
        {
            var line = book[i];
            var usage = decimal.ToInt64(decimal.Ceiling(usedSoFar * (line.End - line.Start).Ticks / elapsedTicks));
            var covered = i == index ? line.AvailableCents : line.CommitCents;
            trueUp = Math.Max(trueUp, usage - covered);
            if (i == index)
            {
                projected = usage;
            }
        }

        return new CommitForecast(current.Quarter, perDay, runsOut, projected, trueUp);
    }
}
