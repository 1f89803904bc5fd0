using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Metering;
using ControlPlane.Grains.Commits;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grains.Metering;

/// <summary>
/// The list prices; written only when an operator changes a price. Each silo's <see cref="PriceListCache"/> holds a copy
/// under a lease, so the usage ingest never calls this grain per batch.
/// </summary>
/// <remarks>
/// Why a cached copy prices exactly as this grain would: a price change is answered only once every lease granted
/// before it was published (stored) holds the new version (the push was acknowledged) or has run out. A cache prices
/// only under a lease it still holds, counted from before it asked, so it stops using a lease before this grain's
/// record of it ends. Hence any batch that starts after a change was answered is priced with that change or newer, on
/// every silo, exactly as if it had read this grain; a batch concurrent with the change may see either version, as it
/// could before. Leases granted by a previous activation (its silo died, or it moved) are unknown here: a change is not
/// answered before this activation is one lease old, by when they have all run out. Only what was written is ever
/// handed out (<see cref="_published"/>), so a failed write leaks no price. The reads interleave with a change that
/// waits on pushes; they hand out the published list, never the state being written.
/// </remarks>
public sealed partial class PriceListGrain(
    [PersistentState("price-list", "store")] IPersistentState<PriceListState> state,
    IOptions<BillingOptions> options,
    TimeProvider time,
    ILogger<PriceListGrain> logger) : Grain, IPriceListGrain
{
    private readonly LeaseTable<IPriceListObserver> _leases = new(TimeSpan.FromSeconds(options.Value.PriceCacheLeaseSeconds));
    private readonly long _origin = time.GetTimestamp();
    private PriceList _published = new(0, []);

    // The version every lease granted before it was published holds (or ran out); -1: not yet known to this activation.
    private long _confirmed = -1;

    private TimeSpan Now => time.GetElapsedTime(_origin);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Publish();
        return Task.CompletedTask;
    }

    public async Task<ModelPrice> SetPriceAsync(string model, Rate rate, DateTimeOffset effectiveFrom)
    {
        if (!state.State.Models.TryGetValue(model, out var history))
        {
            history = [];
            state.State.Models[model] = history;
        }

        if (history.Count > 0 && history[^1].Rate == rate)
        {
            // Setting the same price again (a retried PUT) changes nothing; it is answered as the first was, once every
            // copy holds it (the first may have failed after its write landed, before the copies were told).
            await ConfirmAsync();
            return history[^1];
        }

        // A price never takes effect before one already in force: history stays ordered.
        var from = history.Count > 0 && history[^1].EffectiveFrom > effectiveFrom ? history[^1].EffectiveFrom : effectiveFrom;
        var price = new ModelPrice(model, rate, from);
        history.Add(price);
        state.State.Version++;
        await state.WriteOrReloadAsync(this, logger, Publish);
        Publish();
        await ConfirmAsync();
        return price;
    }

    public Task<PriceList> GetAsync() => Task.FromResult(_published);

    public Task<PriceListLease> LeaseAsync(IPriceListObserver cache, long knownVersion)
    {
        _leases.Grant(cache, Now);
        return Task.FromResult(new PriceListLease(knownVersion == _published.Version ? null : _published, _leases.Duration));
    }

    private void Publish() => _published = new PriceList(
        state.State.Version,
        state.State.Models.Where(m => m.Value.Count > 0).ToDictionary(m => m.Key, m => m.Value.ToList(), StringComparer.Ordinal));

    /// <summary>
    /// Pushes the published version to every live lease and waits, for each, until the push is acknowledged or the lease
    /// runs out; and until this activation is one lease old (leases an earlier activation granted have run out by then).
    /// </summary>
    private async Task ConfirmAsync()
    {
        var prices = _published;
        var now = Now;
        var inherited = _leases.Duration - now;
        if (_confirmed >= prices.Version && inherited <= TimeSpan.Zero)
        {
            return;
        }

        // Taken in the same turn as the publish: a lease granted after it handed out this version already.
        var waits = _leases.Live(now).Select(l => PushAsync(l.Holder, prices, l.Left)).ToList();
        if (inherited > TimeSpan.Zero)
        {
            waits.Add(Task.Delay(inherited, time));
        }

        await Task.WhenAll(waits);
        _confirmed = Math.Max(_confirmed, prices.Version);
    }

    private async Task PushAsync(IPriceListObserver cache, PriceList prices, TimeSpan leaseLeft)
    {
        var push = cache.PricesChangedAsync(prices);
        var runsOut = Task.Delay(leaseLeft, time);
        if (await Task.WhenAny(push, runsOut) == push && push.IsCompletedSuccessfully)
        {
            return;
        }

        // Unknown whether the copy has it (its silo may be gone or slow): its lease must run out before the change is
        // answered. The push, if still in flight, is observed so its failure is logged rather than lost.
        _ = push.ContinueWith(
            t => LogPushFailed(logger, prices.Version, t.Exception),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted,
            TaskScheduler.Default);
        await runsOut;
    }
}
