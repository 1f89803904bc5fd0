using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace ControlPlane.Simulator.Load;

/// <summary>What a load run measured.</summary>
/// <param name="Batches">Batches answered 200.</param>
/// <param name="Accepted">Events those answers counted as new (durable when answered).</param>
/// <param name="Duplicates">Events those answers reported as counted before (none expected: every id is new).</param>
/// <param name="Failed">Batches answered otherwise (or not at all), with the first few reasons.</param>
/// <param name="Elapsed">From the first request sent to the last answer read.</param>
/// <param name="Latency">Per batch, from sending the request to reading the whole answer.</param>
/// <param name="Answered">The batch indexes answered 200.</param>
/// <param name="Tenths">Events/s over each tenth of the run's answers, in order (fewer when the run has fewer than ten batches).</param>
internal sealed record UsageLoadResult(
    int Batches,
    long Accepted,
    long Duplicates,
    int Failed,
    IReadOnlyList<string> Failures,
    TimeSpan Elapsed,
    LatencySummary? Latency,
    IReadOnlyList<int> Answered,
    IReadOnlyList<double> Tenths)
{
    public double EventsPerSecond => Accepted / Elapsed.TotalSeconds;

    public double BatchesPerSecond => Batches / Elapsed.TotalSeconds;
}

/// <summary>Sends the batches, <c>concurrency</c> at a time, each exactly once, and measures.</summary>
internal static class UsageLoadRun
{
    private const int FailuresKept = 5;

    public static async Task<UsageLoadResult> RunAsync(
        UsageLoadClient client,
        string gatewayToken,
        UsageBatches batches,
        int count,
        int concurrency,
        TextWriter output,
        CancellationToken ct)
    {
        var next = -1;
        var latencies = new ConcurrentBag<TimeSpan>();
        var answered = new ConcurrentBag<int>();
        var failures = new ConcurrentQueue<string>();
        long accepted = 0, duplicates = 0;
        var failed = 0;
        var progress = new Progress(count, batches.BatchSize, output);
        var clock = Stopwatch.StartNew();

        async Task SendAsync()
        {
            int batch;
            while ((batch = Interlocked.Increment(ref next)) < count && !ct.IsCancellationRequested)
            {
                // Built before the clock of the batch starts: the server's time is measured, not the client's JSON.
                var body = batches.Body(batch);
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    var (status, text) = await client.SendBatchAsync(body, gatewayToken, ct);
                    var latency = Stopwatch.GetElapsedTime(sent);
                    if (status == HttpStatusCode.OK && JsonNode.Parse(text) is { } json)
                    {
                        latencies.Add(latency);
                        answered.Add(batch);
                        Interlocked.Add(ref accepted, json["accepted"]?.GetValue<long>() ?? 0);
                        Interlocked.Add(ref duplicates, json["duplicates"]?.GetValue<long>() ?? 0);
                        progress.Answered(clock.Elapsed);
                        continue;
                    }

                    Fail($"batch {batch}: {(int)status} {(text.Length > 200 ? text[..200] + "..." : text)}");
                }
                catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException || (e is TaskCanceledException && !ct.IsCancellationRequested))
                {
                    Fail($"batch {batch}: {e.GetType().Name}: {e.Message}");
                }
            }
        }

        void Fail(string reason)
        {
            Interlocked.Increment(ref failed);
            if (failures.Count < FailuresKept)
            {
                failures.Enqueue(reason);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(SendAsync, ct)));
        var elapsed = clock.Elapsed;
        return new UsageLoadResult(
            answered.Count,
            accepted,
            duplicates,
            failed,
            failures.ToArray(),
            elapsed,
            latencies.IsEmpty ? null : LatencySummary.From(latencies),
            answered.Order().ToArray(),
            progress.Rates);
    }

    /// <summary>A line every tenth of the run: how far, and the rate over the last stretch (it falls as the day buckets grow).</summary>
    private sealed class Progress(int count, int batchSize, TextWriter output)
    {
        private readonly Lock _lock = new();
        private readonly int _every = Math.Max(1, count / 10);
        private int _answered;
        private TimeSpan _last;
        private readonly List<double> _rates = [];

        public IReadOnlyList<double> Rates
        {
            get
            {
                lock (_lock)
                {
                    return [.. _rates];
                }
            }
        }

        public void Answered(TimeSpan at)
        {
            lock (_lock)
            {
                _answered++;
                if (_answered % _every != 0)
                {
                    return;
                }

                var rate = _every * batchSize / (at - _last).TotalSeconds;
                _last = at;
                _rates.Add(rate);
                output.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"[load] {_answered,7:N0}/{count:N0} batches in {at.TotalSeconds,6:0.0} s; the last {_every:N0}: {rate,9:N0} events/s"));
            }
        }
    }
}
