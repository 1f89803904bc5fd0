using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Cluster;

/// <summary>
/// Usage ingestion survives a crashed silo: three server processes (Azure Table clustering on Azurite,
/// grain state in PostgreSQL), a gateway that sends batches round-robin to all three, a few at a time,
/// and retries every failed batch on another silo until it is answered 200. One silo is killed while
/// batches are in flight. Afterwards the contract counts every event exactly once: no event that was
/// answered durable is lost, and none that was resent (in part committed before the crash) is counted twice.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class IngestionFailoverTests(PostgresFixture postgres, AzuriteFixture azurite)
{
    private const string OperatorToken = "ingestion-failover-operator-token";
    private const string ContractId = "failover-contract";
    private const string CustomerId = "failover-customer";
    private const string Model = "failover-model";
    private const decimal InputUsdPer1M = 3m;
    private const decimal OutputUsdPer1M = 15m;
    private const decimal DiscountPercent = 12.5m;
    private const int Batches = 40;
    private const int EventsPerBatch = 250;
    private const int InFlight = 4;
    private const int KillAfterBatches = 8;
    private const int Resent = 3;

    // Five days of every month of Q1 to Q3 of a term starting 2026-01-01, quarter edges included (the UTC
    // day decides the quarter): 45 day buckets, spread over the silos, so that some die with the killed one.
    private static readonly DateTimeOffset[] Days = Enumerable.Range(1, 9)
        .SelectMany(month => new[]
        {
            new DateTimeOffset(2026, month, 1, 0, 0, 0, TimeSpan.Zero),
            new DateTimeOffset(2026, month, 8, 6, 0, 0, TimeSpan.Zero),
            new DateTimeOffset(2026, month, 15, 12, 0, 0, TimeSpan.Zero),
            new DateTimeOffset(2026, month, 22, 18, 0, 0, TimeSpan.Zero),
            new DateTimeOffset(2026, month, DateTime.DaysInMonth(2026, month), 23, 0, 0, TimeSpan.Zero),
        })
        .ToArray();

    [Fact]
    public async Task KillOneSiloMidIngestion_ClientRetries_EveryEventCountedExactlyOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var db = await postgres.CreateDatabaseAsync("ingestion_failover", ct);
        var settings = ClusterSettings.For(db, azurite, "ingestion-failover", OperatorToken);
        // The quarters of the term are over by the wall clock: operators close them, not a reminder mid-test.
        settings["Billing:AutoCloseQuarters"] = "false";

        await using var a = await ServerProcess.StartAsync(settings, ct: ct);
        await using var b = await ServerProcess.StartAsync(settings, ct: ct);
        await using var c = await ServerProcess.StartAsync(settings, ct: ct);
        ServerProcess[] silos = [a, b, c];

        // Creating the contract reads its (empty) book, which activates the day buckets of the term so far
        // wherever Orleans places them (resource-optimized placement: often the calling silo, here c). The
        // silo holding the most of them is the one killed, so that the crash takes buckets with it.
        using (var admin = a.CreateOperatorClient())
        {
            await ExpectAsync(HttpStatusCode.OK, admin.PutAsJsonAsync($"/admin/v1/prices/{Model}", new { inputUsdPer1M = InputUsdPer1M, outputUsdPer1M = OutputUsdPer1M }, ct));
        }

        using (var admin = c.CreateOperatorClient())
        {
            await ExpectAsync(HttpStatusCode.Created, admin.PostAsJsonAsync(
                "/admin/v1/contracts",
                new { contractId = ContractId, customerId = CustomerId, startDate = "2026-01-01", quarters = 4, quarterlyCommitUsd = 100_000, discountPercent = DiscountPercent },
                ct));
        }

        string gatewayToken;
        using (var admin = b.CreateOperatorClient())
        {
            var issued = await ExpectAsync(HttpStatusCode.Created, admin.PostAsJsonAsync("/admin/v1/tokens", new { role = "gateway" }, ct));
            gatewayToken = issued["token"]!.GetValue<string>();
        }

        var buckets = await Task.WhenAll(silos.Select(BucketActivationsAsync));
        var victim = Array.IndexOf(buckets, buckets.Max());
        Assert.True(buckets[victim] > 0, "no day bucket is active on any silo");
        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"day buckets active per silo: {string.Join(", ", buckets)}; killing silo {victim}");

        var batches = Enumerable.Range(0, Batches).Select(MakeBatch).ToArray();
        var clients = silos.Select(s => GatewayClient(s, gatewayToken)).ToArray();
        try
        {
            var gateway = new RetryingGateway(clients);
            var killPoint = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var outcomes = new ConcurrentDictionary<int, BatchOutcome>();
            var queue = new ConcurrentQueue<UsageBatch>(batches);
            var senders = Enumerable.Range(0, InFlight).Select(_ => Task.Run(
                async () =>
                {
                    while (queue.TryDequeue(out var batch))
                    {
                        outcomes[batch.Index] = await gateway.SendUntilAcceptedAsync(batch, firstSilo: batch.Index % silos.Length, ct);
                        if (outcomes.Count >= KillAfterBatches)
                        {
                            killPoint.TrySetResult();
                        }
                    }
                },
                ct)).ToArray();

            // Kill the silo while batches are in flight (as soon as a few were answered), with no warning.
            var sending = Task.WhenAll(senders);
            await Task.WhenAny(killPoint.Task, sending).WaitAsync(TimeSpan.FromSeconds(120), ct);
            if (sending.IsFaulted)
            {
                await sending;
            }

            await silos[victim].KillAsync();
            var answeredBeforeKill = outcomes.Count;
            var killed = Stopwatch.StartNew();

            await sending.WaitAsync(TimeSpan.FromSeconds(180), ct);
            var retried = outcomes.Values.Where(o => o.Attempts > 1).ToArray();
            output?.WriteLine(
                $"{answeredBeforeKill} of {Batches} batches answered before the kill, the rest within {killed.Elapsed.TotalSeconds:0.0} s after it; " +
                $"{retried.Length} retried (at most {outcomes.Values.Max(o => o.Attempts)} attempts), reporting {retried.Sum(o => o.Duplicates)} duplicates; " +
                $"failed attempts: {string.Join(", ", outcomes.Values.SelectMany(o => o.Failures).CountBy(f => f).Select(f => $"{f.Value} x {f.Key}"))}");
            Assert.True(answeredBeforeKill < Batches, $"all {Batches} batches were answered before the silo was killed: nothing was tested");

            // Each batch answered 200 exactly once in the end. What a failed attempt had made durable before
            // the crash is reported as duplicates by the retry; a batch answered the first time has none.
            Assert.Equal(Batches, outcomes.Count);
            foreach (var (index, outcome) in outcomes)
            {
                Assert.True(outcome.Accepted + outcome.Duplicates == EventsPerBatch, $"batch {index}: accepted {outcome.Accepted} + duplicates {outcome.Duplicates} != {EventsPerBatch}");
                if (outcome.Attempts == 1)
                {
                    Assert.True(outcome.Duplicates == 0, $"batch {index} was sent once but reported {outcome.Duplicates} duplicates");
                }
            }

            Assert.NotEmpty(retried);
            var distinct = batches.Sum(x => x.Events.Length);
            Assert.Equal(distinct, outcomes.Values.Sum(o => o.Accepted) + retried.Sum(o => o.Duplicates));

            // The contract counts each distinct event once, attributed to the quarter of its UTC day.
            var expected = Expected(batches);
            var survivors = silos.Where((_, i) => i != victim).ToArray();
            using var survivor = survivors[0].CreateOperatorClient();
            Assert.Equal(expected, await TotalsAsync(survivor, expected));

            // Resending whole batches, through both survivors, counts nothing again.
            var resender = new RetryingGateway(clients.Where((_, i) => i != victim).ToArray());
            foreach (var batch in batches.Take(Resent))
            {
                var again = await resender.SendUntilAcceptedAsync(batch, firstSilo: batch.Index % 2, ct);
                Assert.Equal(0, again.Accepted);
                Assert.Equal(EventsPerBatch, again.Duplicates);
            }

            Assert.Equal(expected, await TotalsAsync(survivor, expected));
            using var other = survivors[1].CreateOperatorClient();
            Assert.Equal(expected, await TotalsAsync(other, expected));
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    private static UsageBatch MakeBatch(int index)
    {
        var random = new Random(index);
        var events = Enumerable.Range(0, EventsPerBatch).Select(i =>
        {
            var day = Days[(index * EventsPerBatch + i) % Days.Length];
            return new UsageEvent(
                $"failover-{index:D3}-{i:D4}",
                CustomerId,
                $"deployment-{i % 3}",
                Model,
                random.Next(0, 8_000),
                random.Next(0, 2_000),
                day.AddSeconds(i));
        }).ToArray();
        return new UsageBatch(index, $"failover-batch-{index:D3}", events);
    }

    private static Totals Expected(IEnumerable<UsageBatch> batches)
    {
        var events = batches.SelectMany(b => b.Events).DistinctBy(e => e.EventId).ToArray();
        var usd = new decimal[4];
        foreach (var quarter in events.GroupBy(e => (e.Timestamp.UtcDateTime.Month - 1) / 3))
        {
            // Priced on the quarter's aggregate at the discounted rate, rounded to cents once.
            var list = (quarter.Sum(e => e.InputTokens) * InputUsdPer1M + quarter.Sum(e => e.OutputTokens) * OutputUsdPer1M) / 1_000_000m;
            usd[quarter.Key] = Math.Round(list * (100m - DiscountPercent) / 100m, 2, MidpointRounding.AwayFromZero);
        }

        return new Totals(
            events.Sum(e => e.InputTokens),
            events.Sum(e => e.OutputTokens),
            string.Join(" ", usd.Select(u => u.ToString("0.00", CultureInfo.InvariantCulture))));
    }

    /// <summary>
    /// The contract's totals once they read <paramref name="expected"/>, or the last ones read. Reading the
    /// contract touches every day bucket of the term: until the cluster has declared the killed silo dead,
    /// a bucket that lived there cannot answer, so failed reads are retried. Totals above the expected
    /// (an event counted twice) never come down: the poll times out and the test fails.
    /// </summary>
    private static async Task<Totals?> TotalsAsync(HttpClient operatorClient, Totals expected)
    {
        string last = "";
        try
        {
            return await Poll.UntilAsync(
                async () =>
                {
                    try
                    {
                        using var response = await operatorClient.GetAsync($"/admin/v1/contracts/{ContractId}");
                        var body = await response.Content.ReadAsStringAsync();
                        last = $"{(int)response.StatusCode} {body}";
                        return response.IsSuccessStatusCode ? Totals.Of(JsonNode.Parse(body)!) : null;
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        last = e.Message;
                        return null;
                    }
                },
                totals => totals == expected,
                TimeSpan.FromSeconds(60),
                $"the contract's totals to be {expected}");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; last answer: {(last.Length > 2_000 ? last[..2_000] : last)}", e);
        }
    }

    /// <summary>How many day-bucket grains are active on <paramref name="silo"/> (Orleans' own gauge, from /metrics).</summary>
    private static async Task<int> BucketActivationsAsync(ServerProcess silo)
    {
        using var http = silo.CreateClient();
        var metrics = await http.GetStringAsync("/metrics");
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("orleans_grains{", StringComparison.Ordinal) && l.Contains("grain_type=\"usagebucket\"", StringComparison.Ordinal));
        return line is null ? 0 : int.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    private static HttpClient GatewayClient(ServerProcess silo, string token)
    {
        var client = silo.CreateClient(token);
        // A request stuck on the dead silo is retried elsewhere; the cluster answers well within this.
        client.Timeout = TimeSpan.FromSeconds(20);
        return client;
    }

    private static async Task<JsonNode> ExpectAsync(HttpStatusCode expected, Task<HttpResponseMessage> call)
    {
        using var response = await call;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    private sealed record UsageEvent(string EventId, string CustomerId, string DeploymentId, string Model, long InputTokens, long OutputTokens, DateTimeOffset Timestamp);

    private sealed record UsageBatch(int Index, string BatchId, UsageEvent[] Events);

    private sealed record BatchOutcome(int Accepted, int Duplicates, int Attempts, List<string> Failures);

    /// <summary>Token totals of the contract's one model and each quarter's usage in dollars, as the API shows them.</summary>
    private sealed record Totals(long InputTokens, long OutputTokens, string QuarterUsageUsd)
    {
        public static Totals Of(JsonNode contract)
        {
            var usage = contract["usageByModel"]!.AsArray();
            var model = usage.SingleOrDefault(m => m!["model"]!.GetValue<string>() == Model);
            return new Totals(
                model?["inputTokens"]!.GetValue<long>() ?? 0,
                model?["outputTokens"]!.GetValue<long>() ?? 0,
                string.Join(" ", contract["quarters"]!.AsArray().OrderBy(q => q!["quarter"]!.GetValue<int>()).Select(q => q!["usageUsd"]!.GetValue<string>())));
        }
    }

    /// <summary>
    /// What a careful gateway does: send a batch to one silo, and on anything but 200 (refused connection,
    /// timeout, 5xx) send the same batch again to the next silo, until one answers 200. A 4xx is a bug in the batch.
    /// </summary>
    private sealed class RetryingGateway(HttpClient[] silos)
    {
        private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(150);

        // Silos (indexes) that refused a connection: a gateway stops sending to an endpoint that is gone.
        private readonly ConcurrentDictionary<int, bool> _down = new();

        public async Task<BatchOutcome> SendUntilAcceptedAsync(UsageBatch batch, int firstSilo, CancellationToken ct)
        {
            var body = new { batchId = batch.BatchId, events = batch.Events };
            var deadline = DateTime.UtcNow + GiveUpAfter;
            var failures = new List<string>();
            for (var attempt = 1; ; attempt++)
            {
                var silo = NextLive(firstSilo + attempt - 1);
                try
                {
                    using var response = await silos[silo].PostAsJsonAsync("/gateway/v1/usage", body, ApiClient.Web, ct);
                    var text = await response.Content.ReadAsStringAsync(ct);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        var json = JsonNode.Parse(text)!;
                        return new BatchOutcome(json["accepted"]!.GetValue<int>(), json["duplicates"]!.GetValue<int>(), attempt, failures);
                    }

                    Assert.True((int)response.StatusCode >= 500, $"batch {batch.BatchId} was refused by silo {silo}: {(int)response.StatusCode} {text}");
                    failures.Add($"silo {silo}: {(int)response.StatusCode}");
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    failures.Add($"silo {silo}: {Describe(e)}");
                    if (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
                    {
                        _down[silo] = true;
                    }
                }

                if (DateTime.UtcNow > deadline)
                {
                    Assert.Fail($"batch {batch.BatchId} was not accepted in {GiveUpAfter.TotalSeconds:0} s: {string.Join(", ", failures.TakeLast(10))}");
                }

                // Back off a little while the cluster declares the dead silo dead and moves its grains.
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * attempt, 1_000)), ct);
            }
        }

        private static string Describe(Exception e) => e switch
        {
            TaskCanceledException => "timeout",
            HttpRequestException { InnerException: SocketException socket } => socket.SocketErrorCode.ToString(),
            HttpRequestException { HttpRequestError: var error } => error.ToString(),
            _ => e.GetType().Name,
        };

        private int NextLive(int start)
        {
            for (var i = 0; i < silos.Length; i++)
            {
                var silo = (start + i) % silos.Length;
                if (!_down.ContainsKey(silo))
                {
                    return silo;
                }
            }

            return start % silos.Length;
        }
    }
}
