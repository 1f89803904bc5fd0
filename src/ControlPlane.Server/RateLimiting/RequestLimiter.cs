using System.Threading.RateLimiting;
using ControlPlane.Server.Options;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ControlPlane.Server.RateLimiting;

/// <summary>
/// The silo's request buckets (<see cref="RequestThrottling"/>). Every request takes one permit in the middleware; an
/// endpoint whose requests carry many items (a demand request names up to 1,000 deployments) charges the rest here,
/// so that a caller's budget bounds the work it causes, not only its requests.
/// </summary>
/// <para>
/// A refused request is answered after a pause (<see cref="HoldAsync"/>): a client that sends its next request as soon as
/// one is answered, as a flood from a pool of connections does, then sends one a second per connection rather than as
/// many as the silo can refuse, and the silo's CPU stays with the callers within their budgets. Holding costs a
/// request's memory, not CPU, and at most <see cref="MaxHeld"/> are held at once.
/// </para>
public sealed class RequestLimiter(RateLimitingOptions options, TimeProvider time) : IDisposable
{
    /// <summary>
    /// How long a refused request is held before its 429. <c>Retry-After</c> is whole seconds, at least 1, so a client
    /// that honours it loses nothing it would not have waited anyway.
    /// </summary>
    public static readonly TimeSpan Hold = TimeSpan.FromSeconds(1);

    /// <summary>How many refused requests a silo holds at once; beyond that they are answered at once (memory stays bounded).</summary>
    public const int MaxHeld = 1_000;

    private int _held;

    /// <summary>Null when limits are off.</summary>
    internal PartitionedRateLimiter<HttpContext>? Limiter { get; } = options.Enabled ? RequestThrottling.CreateLimiter(options) : null;

    /// <summary>
    /// Takes <paramref name="permits"/> more from the caller's bucket (at most the bucket's size, so a large request
    /// is never refused for ever). Null when they were there; otherwise the 429 to answer (after a pause), nothing taken.
    /// </summary>
    public async Task<ProblemHttpResult?> ChargeAsync(HttpContext http, int permits)
    {
        if (Limiter is null || permits <= 0)
        {
            return null;
        }

        var burst = RequestThrottling.LimitOf(options, RequestThrottling.PartitionOf(http).Group).Burst;
        using var lease = Limiter.AttemptAcquire(http, Math.Min(permits, burst));
        if (lease.IsAcquired)
        {
            return null;
        }

        var problem = RequestThrottling.Refuse(http, lease);
        await HoldAsync(http.RequestAborted);
        return TypedResults.Problem(problem);
    }

    /// <summary>Waits <see cref="Hold"/> before a 429 is written, unless <see cref="MaxHeld"/> are held already.</summary>
    internal async Task HoldAsync(CancellationToken aborted)
    {
        try
        {
            if (Interlocked.Increment(ref _held) <= MaxHeld)
            {
                await Task.Delay(Hold, time, aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away: nobody to answer.
        }
        finally
        {
            Interlocked.Decrement(ref _held);
        }
    }

    public void Dispose() => Limiter?.Dispose();
}
