using ControlPlane.Domain.Metering;

namespace ControlPlane.Domain.Tests.Metering;

public sealed class RateTests
{
    [Fact]
    public void Equals_SamePricesAtAnotherScale_AreTheSameRate()
    {
        Assert.Equal(new Rate(1m, 2m), new Rate(1.000m, 2.0m));
        Assert.Equal(new Rate(1m, 2m).GetHashCode(), new Rate(1.000m, 2.0m).GetHashCode());
    }

    [Fact]
    public void Validate_PricesInRangeWithSixDecimals_HasNoErrors()
    {
        Assert.Empty(new Rate(0m, Rate.MaxUsdPer1M).Validate());
        Assert.Empty(new Rate(0.000001m, 12.345600m).Validate());
    }

    [Fact]
    public void Validate_NegativeTooLargeOrTooPrecise_NamesTheField()
    {
        Assert.Equal(["inputUsdPer1M"], new Rate(-0.01m, 1m).Validate().Keys);
        Assert.Equal(["outputUsdPer1M"], new Rate(1m, Rate.MaxUsdPer1M + 0.000001m).Validate().Keys);
        Assert.Equal(["inputUsdPer1M", "outputUsdPer1M"], new Rate(0.0000001m, 1.1234567m).Validate().Keys.Order());
    }
}
