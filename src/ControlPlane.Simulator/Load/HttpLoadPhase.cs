using System.Collections.Concurrent;
using System.Diagnostics;

namespace ControlPlane.Simulator.Load;

/// <summary>What one phase of closed-loop HTTP load measured.</summary>
/// <param name="Requests">Requests answered with a 2xx status.</param>
/// <param name="Failures">Requests answered otherwise, or not at all.</param>
/// <param name="FirstFailure">What the first failure was, for the report.</param>
internal sealed record HttpPhaseResult(int Requests, int Failures, string? FirstFailure, TimeSpan Elapsed, LatencySummary? Latency)
{
    public double RequestsPerSecond => Requests / Elapsed.TotalSeconds;
}

/// <summary>
/// Closed-loop load: <c>concurrency</c> workers, each sending its next request as soon as the previous one is
/// answered, until the phase's time or request budget is spent. Each worker's requests come from its own
/// factory, so a worker can own its nodes (and their sequence numbers) alone.
/// </summary>
internal static class HttpLoadPhase
{
    /// <param name="next">Makes worker <c>w</c>'s next request.</param>
    /// <param name="duration">How long the phase sends; null: until <paramref name="maxRequests"/> are sent.</param>
    /// <param name="maxRequests">Most requests the phase sends, over all workers; null: no limit.</param>
    public static async Task<HttpPhaseResult> RunAsync(
        HttpClient http,
        int concurrency,
        Func<int, HttpRequestMessage> next,
        TimeSpan? duration,
        int? maxRequests,
        CancellationToken cancellationToken)
    {
        if (duration is null && maxRequests is null)
        {
            throw new ArgumentException("A phase needs a duration or a request budget.", nameof(duration));
        }

        var latencies = new ConcurrentBag<TimeSpan>();
        var ok = 0;
        var failures = 0;
        var started = -1;
        string? firstFailure = null;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(
            async () =>
            {
                while (!cancellationToken.IsCancellationRequested
                       && (duration is not { } d || clock.Elapsed < d)
                       && (maxRequests is not { } max || Interlocked.Increment(ref started) < max))
                {
                    using var request = next(w);
                    var sent = Stopwatch.GetTimestamp();
                    try
                    {
                        using var response = await http.SendAsync(request, cancellationToken);
                        if (response.IsSuccessStatusCode)
                        {
                            latencies.Add(Stopwatch.GetElapsedTime(sent));
                            Interlocked.Increment(ref ok);
                            continue;
                        }

                        var body = await response.Content.ReadAsStringAsync(cancellationToken);
                        Interlocked.CompareExchange(ref firstFailure, $"{request.Method} {request.RequestUri}: {(int)response.StatusCode} {body}", null);
                    }
                    catch (HttpRequestException e)
                    {
                        Interlocked.CompareExchange(ref firstFailure, $"{request.Method} {request.RequestUri}: {e.Message}", null);
                    }
                    catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
                    {
                        Interlocked.CompareExchange(ref firstFailure, $"{request.Method} {request.RequestUri}: {e.Message}", null);
                    }

                    Interlocked.Increment(ref failures);
                }
            },
            cancellationToken)));
        var elapsed = clock.Elapsed;
        cancellationToken.ThrowIfCancellationRequested();
        return new HttpPhaseResult(ok, failures, firstFailure, elapsed, latencies.IsEmpty ? null : LatencySummary.From(latencies));
    }
}
