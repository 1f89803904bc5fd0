using ControlPlane.Domain.Commits;
using CsCheck;

namespace ControlPlane.Domain.Tests.Commits;

public sealed class MoneyTests
{
    [Theory]
    [InlineData("0.005", 1)]
    [InlineData("0.00499999", 0)]
    [InlineData("-0.005", -1)]
    [InlineData("1.015", 102)]
    [InlineData("2.025", 203)]
    [InlineData("330000", 33_000_000)]
    public void RoundToCents_Halves_GoAwayFromZero(string usd, long expected)
    {
        Assert.Equal(expected, Money.RoundToCents(decimal.Parse(usd, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData("0.019", 1)]
    [InlineData("0.01", 1)]
    [InlineData("-0.001", -1)]
    public void FloorToCents_Fractions_GoDown(string usd, long expected)
    {
        Assert.Equal(expected, Money.FloorToCents(decimal.Parse(usd, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void TryParseUsd_ExactAmounts_AreTakenInCents()
    {
        Assert.True(Money.TryParseUsd(250_000m, out var commit));
        Assert.Equal(25_000_000, commit);
        Assert.True(Money.TryParseUsd(0.10m, out var dime));
        Assert.Equal(10, dime);
        Assert.True(Money.TryParseUsd(1.500m, out var trailingZeros));
        Assert.Equal(150, trailingZeros);
        Assert.True(Money.TryParseUsd(Money.MaxUsd, out var max));
        Assert.Equal(Money.MaxCents, max);
    }

    [Fact]
    public void TryParseUsd_SubCentNegativeOrHuge_IsRefused()
    {
        Assert.False(Money.TryParseUsd(0.001m, out _));
        Assert.False(Money.TryParseUsd(-1m, out _));
        Assert.False(Money.TryParseUsd(Money.MaxUsd + 0.01m, out _));
    }

    [Theory]
    [InlineData("330000.00", 33_000_000)]
    [InlineData("12.5", 1250)]
    [InlineData(" 7 ", 700)]
    public void TryParseUsd_Text_IsInvariantAndExact(string text, long expected)
    {
        Assert.True(Money.TryParseUsd(text, out var cents));
        Assert.Equal(expected, cents);
    }

    [Theory]
    [InlineData("1,5")]
    [InlineData("1e3")]
    [InlineData("1,000.00")]
    [InlineData("0.001")]
    [InlineData("-3")]
    [InlineData("")]
    [InlineData(null)]
    public void TryParseUsd_BadText_IsRefused(string? text)
    {
        Assert.False(Money.TryParseUsd(text, out _));
    }

    [Theory]
    [InlineData(33_000_000, "330000.00")]
    [InlineData(-5, "-0.05")]
    [InlineData(0, "0.00")]
    [InlineData(7, "0.07")]
    [InlineData(123_456_789, "1234567.89")]
    public void Format_Cents_HasTwoDecimalsAndNoSeparators(long cents, string expected)
    {
        Assert.Equal(expected, Money.Format(cents));
    }

    [Fact]
    public void Format_ThenParse_RoundTrips()
    {
        Gen.Long[0, Money.MaxCents].Sample(cents => Money.TryParseUsd(Money.Format(cents), out var back) && back == cents);
    }

    [Theory]
    [InlineData("1e3")]
    [InlineData("12.0000000000000000000000000001")]
    [InlineData("0.000000000000000000000000000001")]
    public void TryParseUsd_TextWithExponentOrBeyondDecimalPrecision_IsRefused(string text) =>
        Assert.False(Money.TryParseUsd(text, out _));

    [Fact]
    public void TryParseUsd_PlainText_IsTakenInCents()
    {
        Assert.True(Money.TryParseUsd(" 330000.00 ", out var cents));
        Assert.Equal(33_000_000L, cents);
    }
}
