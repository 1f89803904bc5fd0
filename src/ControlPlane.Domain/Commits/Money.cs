using System.Globalization;

namespace ControlPlane.Domain.Commits;

/// <summary>
/// Money on the book and on invoices: whole cents in a <see cref="long"/>. Exact amounts before rounding
/// (priced usage) are <see cref="decimal"/> US dollars; they become cents once, through
/// <see cref="RoundToCents"/>, and every later step is integer arithmetic.
/// </summary>
public static class Money
{
    public const long CentsPerUsd = 100;

    /// <summary>The largest amount a request may carry: one trillion US dollars.</summary>
    public const decimal MaxUsd = 1_000_000_000_000m;

    /// <summary><see cref="MaxUsd"/> in cents.</summary>
    public const long MaxCents = 100_000_000_000_000;

    /// <summary>Cents nearest to <paramref name="usd"/>, halves away from zero (0.005 -> 1 cent, -0.005 -> -1 cent).</summary>
    /// <exception cref="OverflowException">The amount does not fit a <see cref="long"/> of cents.</exception>
    public static long RoundToCents(decimal usd) =>
        decimal.ToInt64(decimal.Round(usd * CentsPerUsd, 0, MidpointRounding.AwayFromZero));

    /// <summary>The whole cents in <paramref name="usd"/>, rounded towards negative infinity.</summary>
    /// <exception cref="OverflowException">The amount does not fit a <see cref="long"/> of cents.</exception>
    public static long FloorToCents(decimal usd) => decimal.ToInt64(decimal.Floor(usd * CentsPerUsd));

    /// <summary>
    /// An amount a request states in dollars, taken only when it is exact in cents: refuses more than two
    /// decimals (a request never has money silently rounded), negative amounts and more than <see cref="MaxUsd"/>.
    /// </summary>
    public static bool TryParseUsd(decimal usd, out long cents)
    {
        if (usd < 0 || usd > MaxUsd || decimal.Round(usd, 2) != usd)
        {
            cents = 0;
            return false;
        }

        cents = decimal.ToInt64(usd * CentsPerUsd);
        return true;
    }

    /// <summary>
    /// <see cref="TryParseUsd(decimal, out long)"/> for an amount written as text (<c>"330000.00"</c>,
    /// <c>"12.5"</c>): a plain decimal (<see cref="DecimalText.TryParseExact"/>), surrounding spaces allowed.
    /// </summary>
    public static bool TryParseUsd(string? text, out long cents)
    {
        cents = 0;
        return text is not null && DecimalText.TryParseExact(text.AsSpan().Trim(), out var usd) && TryParseUsd(usd, out cents);
    }

    /// <summary>Cents as dollars.</summary>
    public static decimal ToUsd(long cents) => cents / (decimal)CentsPerUsd;

    /// <summary>The form money takes in responses: two decimals, invariant culture (<c>"330000.00"</c>, <c>"-0.05"</c>).</summary>
    public static string Format(long cents) => ToUsd(cents).ToString("0.00", CultureInfo.InvariantCulture);
}
