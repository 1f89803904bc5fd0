using System.Globalization;

namespace ControlPlane.Domain;

/// <summary>
/// A decimal a request states (money, prices, rates), taken only when it is written plainly and
/// <see cref="decimal"/> holds it exactly: <c>1e3</c> is refused (an exponent is easy to misread and lets a
/// short string name a huge or tiny amount), and so is <c>0.000000000000000000000000000001</c> or
/// <c>12.0000000000000000000000000001</c>, which <see cref="decimal"/> would silently round.
/// </summary>
public static class DecimalText
{
    /// <summary>What a plain decimal looks like, for error messages.</summary>
    public const string Rule = "a plain decimal number such as 12.50: digits, at most one decimal point, no exponent, and no more digits than a decimal keeps exactly (28 or 29 significant digits)";

    /// <summary>
    /// Parses <paramref name="text"/>: an optional <c>-</c>, digits, and optionally a point and more digits
    /// (invariant culture, no spaces or separators), with a value <see cref="decimal"/> holds exactly.
    /// </summary>
    public static bool TryParseExact(ReadOnlySpan<char> text, out decimal value)
    {
        value = 0;
        var digits = text.StartsWith("-") ? text[1..] : text;
        var point = digits.IndexOf('.');
        var whole = point < 0 ? digits : digits[..point];
        var fraction = point < 0 ? [] : digits[(point + 1)..];
        if (whole.IsEmpty || !IsDigits(whole) || (point >= 0 && (fraction.IsEmpty || !IsDigits(fraction))))
        {
            return false;
        }

        if (!decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value))
        {
            return false;
        }

        // decimal.Parse rounds what does not fit its 28-29 significant digits; the text and the value must agree digit for digit.
        Span<char> written = stackalloc char[64];
        if (!decimal.Abs(value).TryFormat(written, out var length, default, CultureInfo.InvariantCulture))
        {
            return false;
        }

        return Canonical(digits).SequenceEqual(Canonical(written[..length]));
    }

    private static bool IsDigits(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The digits without leading zeros before the point and trailing zeros after it (<c>007.500</c> is <c>7.5</c>).</summary>
    private static ReadOnlySpan<char> Canonical(ReadOnlySpan<char> s)
    {
        if (s.IndexOf('.') >= 0)
        {
            s = s.TrimEnd('0').TrimEnd('.');
        }

        s = s.TrimStart('0');
        return s.IsEmpty || s[0] == '.' ? ("0" + s.ToString()).AsSpan() : s;
    }
}
