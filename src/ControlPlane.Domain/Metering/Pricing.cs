using ControlPlane.Domain.Commits;

namespace ControlPlane.Domain.Metering;

/// <summary>
/// Prices usage: (input tokens x input list price + output tokens x output list price) / 1,000,000 x
/// (1 - discount / 100), exactly, in <see cref="decimal"/>.
/// </summary>
/// <remarks>
/// Each aggregate's numerator (tokens x price) is an integer of tokens times a price with at most six
/// decimals: 10^15 tokens at 10,000 USD/1M is 26 significant digits, inside decimal's 28, so it is exact
/// and cannot overflow (decimal holds 7.9 x 10^28). The sum is divided by a million (exact: the scale
/// grows by six) and then discounted once; the discount factor has at most seven significant digits, so
/// the result is exact whenever the list price of what is priced is below 10 billion dollars (a quarter
/// of one contract, or a late-usage line). Beyond that decimal rounds far below a cent instead of
/// overflowing. Rounding to cents is the caller's, once per quarter or late-usage line.
/// </remarks>
public static class Pricing
{
    private const decimal TokensPerUnit = 1_000_000m;

    /// <summary>The exact, unrounded price of <paramref name="usage"/> at list rate less <paramref name="discountPercent"/>.</summary>
    /// <param name="usage">Aggregates to price, each at its own list rate.</param>
    /// <param name="discountPercent">The contract's discount, 0 (list price, pay-as-you-go) to below 100.</param>
    public static decimal PriceUsd(IEnumerable<UsageAggregate> usage, decimal discountPercent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(discountPercent);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(discountPercent, 100m);

        var tokenUsd = 0m;
        foreach (var item in usage)
        {
            tokenUsd += item.InputTokens * item.ListRate.InputUsdPer1M + item.OutputTokens * item.ListRate.OutputUsdPer1M;
        }

        var listUsd = tokenUsd / TokensPerUnit;
        return discountPercent == 0 ? listUsd : listUsd * (100m - discountPercent) / 100m;
    }


    /// <summary><see cref="PriceUsd"/> rounded to cents once, half away from zero: a quarter's usage, or one late-usage line.</summary>
    public static long PriceCents(IEnumerable<UsageAggregate> usage, decimal discountPercent) =>
        Money.RoundToCents(PriceUsd(usage, discountPercent));
}
