using ControlPlane.Domain.Commits;

namespace ControlPlane.Domain.Tests.Commits;

public sealed class ContractTermsTests
{
    private static readonly ContractTerms Valid = new("acme-2026", "acme", new DateOnly(2026, 1, 1), 4, 25_000_000, 12.5m);

    [Fact]
    public void Validate_ValidTerms_HasNoErrorsAndDefaultsRolloverToAll()
    {
        Assert.Empty(Valid.Validate());
        Assert.Equal(100m, Valid.RolloverCapPercent);
    }

    [Theory]
    [InlineData("contractId")]
    [InlineData("customerId")]
    [InlineData("startDate")]
    [InlineData("quarters")]
    [InlineData("quarterlyCommitUsd")]
    [InlineData("discountPercent")]
    [InlineData("rolloverCapPercent")]
    public void Validate_OneBadField_NamesIt(string field)
    {
        var terms = field switch
        {
            "contractId" => Valid with { ContractId = "a/b" },
            "customerId" => Valid with { CustomerId = "" },
            "startDate" => Valid with { StartDate = new DateOnly(1999, 12, 31) },
            "quarters" => Valid with { Quarters = ContractTerms.MaxQuarters + 1 },
            "quarterlyCommitUsd" => Valid with { QuarterlyCommitCents = 0 },
            "discountPercent" => Valid with { DiscountPercent = 100m },
            _ => Valid with { RolloverCapPercent = 100.5m },
        };

        Assert.Equal([field], terms.Validate().Keys);
    }

    [Fact]
    public void Validate_PercentWithTooManyDecimals_IsRefused()
    {
        Assert.Equal(["discountPercent", "rolloverCapPercent"],
            (Valid with { DiscountPercent = 12.34567m, RolloverCapPercent = 33.33333m }).Validate().Keys.Order());
        Assert.Empty((Valid with { DiscountPercent = 99.9999m, RolloverCapPercent = 33.3333m }).Validate());
    }

    [Fact]
    public void Validate_TrueUp_RefusesClosedOrOutsideQuartersAndNonPositiveAmounts()
    {
        Assert.Empty(new TrueUp(1, 2).Validate(Valid, firstOpenQuarter: 2));
        Assert.Equal(["effectiveQuarter"], new TrueUp(1, 1).Validate(Valid, firstOpenQuarter: 2).Keys);
        Assert.Contains("closed", new TrueUp(1, 1).Validate(Valid, firstOpenQuarter: 2)["effectiveQuarter"][0]);
        Assert.Equal(["effectiveQuarter"], new TrueUp(1, 5).Validate(Valid, firstOpenQuarter: 1).Keys);
        Assert.Equal(["effectiveQuarter"], new TrueUp(1, 0).Validate(Valid, firstOpenQuarter: 1).Keys);
        Assert.Equal(["effectiveQuarter"], new TrueUp(1, 4).Validate(Valid, firstOpenQuarter: 5).Keys);
        Assert.Equal(["additionalQuarterlyCommitUsd"], new TrueUp(0, 2).Validate(Valid, firstOpenQuarter: 1).Keys);
    }
}
