using ControlPlane.Domain.Metering;

namespace ControlPlane.Contracts.Metering;

/// <summary>
/// The list prices of every model, keyed by <see cref="GrainKeys.PriceList"/>. A price has a history: a
/// change applies to usage whose timestamp is at or after the moment it was accepted, so usage that
/// arrives late is still priced at the rate in force when it happened.
/// </summary>
[Alias("IPriceListGrain")]
public interface IPriceListGrain : IGrainWithStringKey
{
    /// <summary>Sets a model's list price from <paramref name="effectiveFrom"/> on.</summary>
    [Alias("SetPriceAsync")]
    Task<ModelPrice> SetPriceAsync(string model, Rate rate, DateTimeOffset effectiveFrom);

    /// <summary>The whole price history, with a version that grows with every change.</summary>
    [Alias("GetAsync")]
    Task<PriceList> GetAsync();
}

/// <summary>One price of one model, in force from <paramref name="EffectiveFrom"/> until the next.</summary>
[GenerateSerializer, Alias("model-price")]
public sealed record ModelPrice(
    [property: Id(0)] string Model,
    [property: Id(1)] Rate Rate,
    [property: Id(2)] DateTimeOffset EffectiveFrom);

/// <summary>Every model's price history, oldest first.</summary>
[GenerateSerializer, Alias("price-list")]
public sealed record PriceList(
    [property: Id(0)] long Version,
    [property: Id(1)] Dictionary<string, List<ModelPrice>> Models)
{
    public bool Knows(string model) => Models.ContainsKey(model);

    /// <summary>The rate in force for <paramref name="model"/> at <paramref name="at"/> (before its first price, its first price); null for a model without a price.</summary>
    public Rate? RateAt(string model, DateTimeOffset at)
    {
        if (!Models.TryGetValue(model, out var history))
        {
            return null;
        }

        Rate? rate = null;
        foreach (var price in history)
        {
            if (price.EffectiveFrom > at)
            {
                break;
            }

            rate = price.Rate;
        }

        // Usage from before a model's first price is priced at its first price: the model was served.
        return rate ?? history[0].Rate;
    }

    /// <summary>The current price of every model.</summary>
    public IEnumerable<ModelPrice> Current() => Models.Values.Select(h => h[^1]).OrderBy(p => p.Model, StringComparer.Ordinal);
}
