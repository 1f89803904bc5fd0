namespace ControlPlane.Domain.Metering;

/// <summary>
/// A model's list price in US dollars per million tokens. Equal prices are equal rates whatever their
/// decimal scale (<c>1.0</c> and <c>1.00</c>): <see cref="decimal"/> equality and hashing ignore scale.
/// </summary>
/// <param name="InputUsdPer1M">Price of a million prompt tokens.</param>
/// <param name="OutputUsdPer1M">Price of a million generated tokens.</param>
[GenerateSerializer, Alias("rate")]
public sealed record Rate(
    [property: Id(0)] decimal InputUsdPer1M,
    [property: Id(1)] decimal OutputUsdPer1M)
{
    /// <summary>The highest list price accepted, per million tokens.</summary>
    public const decimal MaxUsdPer1M = 10_000m;

    /// <summary>Decimals a list price may have (a millionth of a dollar per million tokens).</summary>
    public const int MaxDecimals = 6;

    /// <summary>
    /// Field errors for a price-list request (empty when valid): each price between 0 and
    /// <see cref="MaxUsdPer1M"/> with at most <see cref="MaxDecimals"/> decimals. The limits keep every
    /// priced aggregate exact in <see cref="decimal"/> (see <see cref="Pricing"/>).
    /// </summary>
    public IReadOnlyDictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        Check("inputUsdPer1M", InputUsdPer1M);
        Check("outputUsdPer1M", OutputUsdPer1M);
        return errors;

        void Check(string field, decimal price)
        {
            if (price < 0 || price > MaxUsdPer1M)
            {
                errors[field] = [$"must be between 0 and {MaxUsdPer1M} USD per million tokens"];
            }
            else if (decimal.Round(price, MaxDecimals) != price)
            {
                errors[field] = [$"must have at most {MaxDecimals} decimals"];
            }
        }
    }
}
