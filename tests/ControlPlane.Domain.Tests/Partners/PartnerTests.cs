using ControlPlane.Domain.Partners;

namespace ControlPlane.Domain.Tests.Partners;

public sealed class PartnerTests
{
    private static readonly Partner Valid = new("partner-a", ["llama-3-70b"], 0.9m, 5_000m);

    [Fact]
    public void Validate_ValidPartner_NoErrors() => Assert.Empty(Valid.Validate());

    [Theory]
    [InlineData("", "partnerId")]
    [InlineData("a/b", "partnerId")]
    public void Validate_BadId_NamesTheField(string id, string field) =>
        Assert.Contains(field, (Valid with { PartnerId = id }).Validate().Keys);

    [Fact]
    public void Validate_BadModels_NamesTheField()
    {
        Assert.Contains("models", (Valid with { Models = [] }).Validate().Keys);
        Assert.Contains("models", (Valid with { Models = ["a", "a"] }).Validate().Keys);
        Assert.Contains("models", (Valid with { Models = ["a\nb"] }).Validate().Keys);
        Assert.Contains("models", (Valid with { Models = [" "] }).Validate().Keys);
    }

    [Theory]
    [InlineData("-0.01")]
    [InlineData("10000.01")]
    [InlineData("0.0000001")]
    public void Validate_BadPrice_NamesTheField(string price) =>
        Assert.Contains("usdPer1MTokens", (Valid with { UsdPer1MTokens = decimal.Parse(price, System.Globalization.CultureInfo.InvariantCulture) }).Validate().Keys);

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1000000000.001")]
    [InlineData("1.0001")]
    public void Validate_BadCapacity_NamesTheField(string capacity) =>
        Assert.Contains("capacityTokensPerSecond", (Valid with { CapacityTokensPerSecond = decimal.Parse(capacity, System.Globalization.CultureInfo.InvariantCulture) }).Validate().Keys);

    [Fact]
    public void Equals_SameModelsInAnotherArray_IsEqual() =>
        Assert.Equal(Valid, Valid with { Models = ["llama-3-70b"], UsdPer1MTokens = 0.90m });
}
