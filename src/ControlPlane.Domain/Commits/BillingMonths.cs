using System.Globalization;

namespace ControlPlane.Domain.Commits;

/// <summary>
/// Calendar months in UTC, the periods of pay-as-you-go billing. A month is named by its first day
/// (<c>2026-10-01</c> is October 2026) and written <c>yyyy-MM</c> in requests and responses.
/// </summary>
public static class BillingMonths
{
    /// <summary>The earliest month a request may name: usage before 2020 is refused at the gateway.</summary>
    public static readonly DateOnly Earliest = new(2020, 1, 1);

    /// <summary>The month holding <paramref name="at"/> (in UTC).</summary>
    public static DateOnly Of(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return new DateOnly(utc.Year, utc.Month, 1);
    }

    /// <summary>The month holding <paramref name="day"/>.</summary>
    public static DateOnly Of(DateOnly day) => new(day.Year, day.Month, 1);

    public static DateTimeOffset Start(DateOnly month) => new(month.Year, month.Month, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The first instant after the month: [<see cref="Start"/>, <see cref="End"/>).</summary>
    public static DateTimeOffset End(DateOnly month) => Start(month).AddMonths(1);

    /// <summary>Every UTC day of the month.</summary>
    public static IEnumerable<DateOnly> Days(DateOnly month)
    {
        var first = Of(month);
        for (var day = first; day < first.AddMonths(1); day = day.AddDays(1))
        {
            yield return day;
        }
    }

    public static string Format(DateOnly month) => month.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>A month written exactly <c>yyyy-MM</c>, from <see cref="Earliest"/> to 9998-12.</summary>
    public static bool TryParse(string? text, out DateOnly month)
    {
        month = default;
        if (text is not { Length: 7 }
            || !DateOnly.TryParseExact(text + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var first)
            || first < Earliest
            || first.Year > 9998)
        {
            return false;
        }

        month = first;
        return true;
    }
}
