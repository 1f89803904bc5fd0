using ControlPlane.Domain;

namespace ControlPlane.Domain.Tests;

public sealed class FreeTextTests
{
    [Theory]
    [InlineData("NVIDIA H100 80GB HBM3")]
    [InlineData("meta-llama/Llama-3.1-70B-Instruct")]
    [InlineData("GPU-8b1c2f44-0000-0000-0000-000000000000")]
    [InlineData("Déjà vu 東京 🚀")]
    [InlineData("x")]
    public void IsClean_OrdinaryText_IsTrue(string text) => Assert.True(FreeText.IsClean(text, 64));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("own\0dc")]
    [InlineData("line\r\nX-Forged: yes")]
    [InlineData("a\nb")]
    [InlineData("tab\there")]
    [InlineData("esc\u001b[31m")]
    [InlineData("c1\u0085")]
    [InlineData("\u202Eevil")]
    [InlineData("a\u202Ab")]
    [InlineData("a\u2066b\u2069")]
    [InlineData("a\u2067b")]
    [InlineData("a\u200Fb")]
    [InlineData("a\u061Cb")]
    public void IsClean_ControlBidiOrBlank_IsFalse(string? text) => Assert.False(FreeText.IsClean(text, 64));

    [Fact]
    public void IsClean_LoneSurrogate_IsFalse()
    {
        // Not in InlineData: theory data is serialized, and a lone surrogate does not survive that.
        Assert.False(FreeText.IsClean("lone " + '\uD800' + " high", 64));
        Assert.False(FreeText.IsClean("lone " + '\uDC00' + " low", 64));
        Assert.True(FreeText.IsClean("pair " + '\uD83D' + '\uDE80', 64));
    }

    [Fact]
    public void IsClean_Length_IsBounded()
    {
        Assert.True(FreeText.IsClean(new string('a', 64), 64));
        Assert.False(FreeText.IsClean(new string('a', 65), 64));
    }

    [Fact]
    public void Clean_UnsafeCharacters_BecomeSpacesAndLengthIsBounded()
    {
        Assert.Equal("nvidia-smi failed  exit 9 \u00e9 \U0001F680", FreeText.Clean("nvidia-smi failed\r\nexit 9\u202E\u00e9 \U0001F680", 100));
        Assert.Equal("abc", FreeText.Clean("abcdef", 3));
        Assert.Equal("ab", FreeText.Clean("ab\U0001F680", 3));
        Assert.False(FreeText.HasUnsafeCharacter(FreeText.Clean("a\0b\uD800c\u2066", 100)));
    }
}
