using ControlPlane.Contracts;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Metering;

namespace ControlPlane.Grains.Metering;

/// <summary>
/// This silo's copy of the price list, so the usage ingest prices a batch without calling the one
/// <see cref="PriceListGrain"/>: one lease call per silo every half lease while usage flows, none while it does not.
/// </summary>
/// <remarks>
/// Exact, not merely fresh: the copy is used only under a lease it holds (<see cref="HeldLease"/>, counted from before
/// it asked), and while it holds one the price list pushes every new version here and answers no change before this
/// copy took it or the lease ran out (<see cref="PriceListGrain"/>). So a batch priced here after a change was answered
/// sees that change, on this silo as on any other. A model the copy does not know is unknown to the price list too (as
/// of any change answered before the batch), so an unknown model is refused without asking again. When the lease has
/// run out (no usage for a while, or the price list unreachable) the batch waits for a new one; while it still holds,
/// the renewal runs in the background.
/// </remarks>
public sealed class PriceListCache(IGrainFactory grains, TimeProvider time) : IPriceListObserver
{
    private readonly object _gate = new();
    private readonly long _origin = time.GetTimestamp();
    private PriceList? _prices;
    private HeldLease _lease;
    private Task? _renewing;
    private IPriceListObserver? _reference;

    private TimeSpan Now => time.GetElapsedTime(_origin);

    /// <summary>The price list as of every change answered before this call.</summary>
    public ValueTask<PriceList> GetAsync()
    {
        Task renewing;
        lock (_gate)
        {
            var now = Now;
            if (_prices is { } prices && _lease.IsValidAt(now))
            {
                if (_lease.IsDueAt(now))
                {
                    // Nobody waits on it: a failure is seen by the call that has to wait for the next one.
                    _ = RenewLocked().ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                }

                return ValueTask.FromResult(prices);
            }

            renewing = RenewLocked();
        }

        return WaitAsync(renewing);
    }

    /// <inheritdoc />
    public Task PricesChangedAsync(PriceList prices)
    {
        lock (_gate)
        {
            if (_prices is null || prices.Version > _prices.Version)
            {
                _prices = prices;
            }
        }

        return Task.CompletedTask;
    }

    private async ValueTask<PriceList> WaitAsync(Task renewing)
    {
        await renewing;
        lock (_gate)
        {
            // The lease just taken (or a newer one): its list is at least as new as any change answered before the call.
            return _prices!;
        }
    }

    private IPriceListObserver Reference()
    {
        lock (_gate)
        {
            return _reference ??= grains.CreateObjectReference<IPriceListObserver>(this);
        }
    }

    /// <summary>One lease call at a time; called under the gate.</summary>
    private Task RenewLocked()
    {
        if (_renewing is { IsCompleted: false } inFlight)
        {
            return inFlight;
        }

        var known = _prices?.Version ?? -1;
        var askedAt = Now;
        // Off any grain's scheduler: the calls that wait on it may come from several activations, and Orleans makes an
        // observer reference only outside a grain.
        _renewing = Task.Run(async () =>
        {
            var lease = await grains.GetGrain<IPriceListGrain>(GrainKeys.PriceList).LeaseAsync(Reference(), known);
            lock (_gate)
            {
                if (lease.Prices is { } prices && (_prices is null || prices.Version > _prices.Version))
                {
                    _prices = prices;
                }

                if (askedAt >= _lease.AskedAt)
                {
                    _lease = new HeldLease(askedAt, lease.Duration);
                }
            }
        });
        return _renewing;
    }
}
