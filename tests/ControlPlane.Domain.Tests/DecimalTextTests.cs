using ControlPlane.Domain;

namespace ControlPlane.Domain.Tests;

public sealed class DecimalTextTests
{
    [Theory]
    [InlineData("0", "0")]
    [InlineData("12", "12")]
    [InlineData("12.50", "12.50")]
    [InlineData("-0.05", "-0.05")]
    [InlineData("007.500", "7.5")]
    [InlineData("0.0000000000000000000000000001", "0.0000000000000000000000000001")]
    [InlineData("1000000000000.000000000000000", "1000000000000")]
    [InlineData("79228162514264337593543950335", "79228162514264337593543950335")]
    public void TryParseExact_PlainDecimal_IsTakenExactly(string text, string expected)
    {
        Assert.True(DecimalText.TryParseExact(text, out var value));
        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), value);
    }

    [Theory]
    [InlineData("1e3")]
    [InlineData("1E3")]
    [InlineData("1e-30")]
    [InlineData("1.5E+2")]
    [InlineData("0.000000000000000000000000000001")]
    [InlineData("12.0000000000000000000000000001")]
    [InlineData("79228162514264337593543950336")]
    [InlineData("")]
    [InlineData("-")]
    [InlineData(".5")]
    [InlineData("5.")]
    [InlineData("+5")]
    [InlineData(" 5")]
    [InlineData("5 ")]
    [InlineData("1,000")]
    [InlineData("1.2.3")]
    [InlineData("NaN")]
    [InlineData("0x10")]
    [InlineData("٣")]
    public void TryParseExact_ExponentRoundedOrNotPlain_IsRefused(string text) =>
        Assert.False(DecimalText.TryParseExact(text, out _));
}
