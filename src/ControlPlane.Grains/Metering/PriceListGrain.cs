using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Metering;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Metering;

/// <summary>The list prices; written only when an operator changes a price.</summary>
public sealed class PriceListGrain(
    [PersistentState("price-list", "store")] IPersistentState<PriceListState> state,
    ILogger<PriceListGrain> logger) : Grain, IPriceListGrain
{
    public async Task<ModelPrice> SetPriceAsync(string model, Rate rate, DateTimeOffset effectiveFrom)
    {
        if (!state.State.Models.TryGetValue(model, out var history))
        {
            history = [];
            state.State.Models[model] = history;
        }

        if (history.Count > 0 && history[^1].Rate == rate)
        {
            // Setting the same price again (a retried PUT) changes nothing.
            return history[^1];
        }

        // A price never takes effect before one already in force: history stays ordered.
        var from = history.Count > 0 && history[^1].EffectiveFrom > effectiveFrom ? history[^1].EffectiveFrom : effectiveFrom;
        var price = new ModelPrice(model, rate, from);
        history.Add(price);
        state.State.Version++;
        await state.WriteOrReloadAsync(this, logger);
        return price;
    }

    public Task<PriceList> GetAsync() => Task.FromResult(new PriceList(
        state.State.Version,
        state.State.Models.ToDictionary(m => m.Key, m => m.Value.ToList(), StringComparer.Ordinal)));
}
