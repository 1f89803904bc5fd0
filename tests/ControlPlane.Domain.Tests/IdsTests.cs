using ControlPlane.Domain;

namespace ControlPlane.Domain.Tests;

public sealed class IdsTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("acme")]
    [InlineData("Acme_2026.q1-x")]
    [InlineData("7")]
    [InlineData("a..b")]
    [InlineData("a.")]
    public void IsValid_PlainId_IsTrue(string id) => Assert.True(Ids.IsValid(id));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("...")]
    [InlineData(".hidden")]
    [InlineData("-a")]
    [InlineData("_a")]
    [InlineData("%2e%2e")]
    [InlineData("a/b")]
    [InlineData("a b")]
    [InlineData("a\0")]
    [InlineData("é")]
    public void IsValid_NotAnAddressableId_IsFalse(string? id) => Assert.False(Ids.IsValid(id));

    [Fact]
    public void IsValid_Length_IsBoundedByMaxLength()
    {
        Assert.True(Ids.IsValid(new string('a', Ids.MaxLength)));
        Assert.False(Ids.IsValid(new string('a', Ids.MaxLength + 1)));
    }
}
