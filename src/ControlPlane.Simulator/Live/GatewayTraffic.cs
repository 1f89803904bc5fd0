using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using ControlPlane.Simulator.Simulation;

namespace ControlPlane.Simulator.Live;

/// <summary>What the gateway sent and the control plane acknowledged so far.</summary>
/// <param name="Batches">Usage batches acknowledged.</param>
/// <param name="Events">Their events: each counted exactly once by the ledger, new or sent before.</param>
/// <param name="Duplicates">Events the ledger had counted already (a retried batch whose first answer was lost).</param>
/// <param name="Unacknowledged">Batches that got no answer after a retry: their events may be counted or not.</param>
internal sealed record UsageTotals(long Batches, long Events, long Duplicates, long InputTokens, long OutputTokens, long Unacknowledged)
{
    public static readonly UsageTotals None = new(0, 0, 0, 0, 0, 0);

    public UsageTotals Acknowledged(UsageBatch batch, long duplicates) =>
        this with
        {
            Batches = Batches + 1,
            Events = Events + batch.Events.Count,
            Duplicates = Duplicates + duplicates,
            InputTokens = InputTokens + batch.InputTokens,
            OutputTokens = OutputTokens + batch.OutputTokens,
        };
}

/// <summary>
/// The simulated inference gateway of <c>demo</c> and <c>live</c>. It creates four deployments (a batch backlog,
/// a serverless endpoint, customer acme's dedicated endpoint with 2 reserved replicas, and a serverless endpoint of
/// acme's model that lives mostly on the dedicated replicas' spare capacity), registers a distribution partner for the
/// serverless models, prices the dedicated model and gives acme a dollar commit, then every few seconds reports
/// demand replayed from a real request trace and meters the dedicated endpoint's requests as usage. The dedicated
/// traffic spikes for a while every cycle, so batch work is preempted, the shared tokens leave the dedicated replicas
/// (its serverless neighbour scales up, and spills to the partner meanwhile), and the burst replicas give their GPUs
/// back once the spike has passed the scale-down delay; its usage moves the contract's balance. Prints the
/// deployments, the shared tokens on dedicated replicas, partner spill, warm and cold loads, where the GPUs are and
/// the balance.
/// </summary>
internal sealed class GatewayTraffic
{
    public const string Batch = "batch-backlog";
    public const string Serverless = "serverless-8b";
    public const string Dedicated = "acme-chat";

    /// <summary>A serverless endpoint of the dedicated model: it scales on its demand less acme-chat's kept spare.</summary>
    public const string SharedDedicatedModel = "serverless-70b";

    /// <summary>The distribution partner that takes the serverless demand no ready replica can.</summary>
    public const string Partner = "demo-partner";
    public const string Customer = "acme";
    public const string DedicatedModel = "llama-3.1-70b";
    public const string TraceFileName = "azure-llm-2023-conv.csv";

    /// <summary>Tokens per second one replica serves (both endpoints), which turns demand into replicas.</summary>
    public const decimal TokensPerSecondPerReplica = 1_000;

    /// <summary>acme-chat's mean demand outside spikes: 1.5 replicas, so it usually runs on its 2 reserved ones.</summary>
    public const double DedicatedMeanTokensPerSecond = 1_500;

    /// <summary>serverless-8b's mean demand: 3 replicas, moving with the trace.</summary>
    public const double ServerlessMeanTokensPerSecond = 3_000;

    /// <summary>
    /// serverless-70b's mean demand: more than its one replica serves, so the rest goes to acme-chat's spare and, when
    /// acme-chat needs its replicas, to the partner; while acme-chat keeps spare enough, it needs no replica of its own.
    /// </summary>
    public const double SharedDedicatedModelMeanTokensPerSecond = 1_500;

    /// <summary>What the partner takes, tokens/s: less than a spike pushes off the dedicated replicas.</summary>
    public const decimal PartnerCapacityTokensPerSecond = 1_500;

    /// <summary>
    /// Where in the trace acme-chat's replay starts: ten minutes in, past the quiet first minutes of the shipped trace
    /// (half its mean rate), so the first spike is as big as the later ones.
    /// </summary>
    public const double DedicatedStartSeconds = 600;

    public static readonly TimeSpan SignalInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// acme-chat's spike: 4 times its usual traffic (its 6-replica ceiling) for 45 s every 150 s, starting 20 s into
    /// the cycle, after batch has had time to fill the fleet.
    /// </summary>
    public static readonly SpikeSchedule DedicatedSpikes = new(TimeSpan.FromSeconds(150), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(45), 4);

    public static readonly MeteredDeployment Metered = new(Dedicated, Customer, DedicatedModel);

    public GatewayTraffic(Trace trace)
    {
        DedicatedReplay = TraceReplay.ForMeanRate(trace, DedicatedMeanTokensPerSecond, DedicatedStartSeconds, DedicatedSpikes);

        // Half a period on, so the two endpoints do not rise and fall together.
        ServerlessReplay = TraceReplay.ForMeanRate(trace, ServerlessMeanTokensPerSecond, DedicatedStartSeconds + trace.PeriodSeconds / 2, SpikeSchedule.None);
        SharedDedicatedModelReplay = TraceReplay.ForMeanRate(trace, SharedDedicatedModelMeanTokensPerSecond, DedicatedStartSeconds + trace.PeriodSeconds / 4, SpikeSchedule.None);
    }

    /// <summary>Where the demo looks for the trace: copied next to the simulator when it is built.</summary>
    public static string DefaultTracePath => Path.Combine(AppContext.BaseDirectory, "traces", TraceFileName);

    public TraceReplay DedicatedReplay { get; }

    public TraceReplay ServerlessReplay { get; }

    public TraceReplay SharedDedicatedModelReplay { get; }

    /// <summary>What was metered so far; complete once <see cref="RunAsync"/> returned.</summary>
    public UsageTotals Totals { get; private set; } = UsageTotals.None;

    /// <summary>Reads the trace at <paramref name="path"/>, or the shipped one when null.</summary>
    /// <exception cref="TraceFormatException">It cannot be read.</exception>
    public static Trace LoadTrace(string? path) => TraceReader.Read(path ?? DefaultTracePath);

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled, or the set-up fails; then prints what it metered.</summary>
    public async Task RunAsync(AdminClient admin, int totalGpus, TextWriter output, CancellationToken cancellationToken)
    {
        try
        {
            await CreateAsync(admin, totalGpus, output, cancellationToken);
            var billing = await GatewayBilling.SetUpAsync(admin, Metered, DateTimeOffset.UtcNow, output, cancellationToken);
            var gateway = (await admin.PostAsync("admin/v1/tokens", new { role = "gateway", subject = "simulated-gateway" }, cancellationToken))
                .GetProperty("token").GetString()!;
            PrintPlan(output);
            await LoopAsync(admin, billing, gateway, output, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (AdminApiException e)
        {
            output.WriteLine($"[traffic] stopped: {e.Message}");
        }

        var t = Totals;
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"[traffic] metered {t.Events:N0} usage events of {Dedicated} in {t.Batches:N0} {Plural(t.Batches, "batch", "batches")}: {t.InputTokens:N0} input + {t.OutputTokens:N0} output tokens acknowledged ({t.Duplicates:N0} counted before, {t.Unacknowledged:N0} {Plural(t.Unacknowledged, "batch", "batches")} unacknowledged)"));
    }

    /// <summary>The noun for a count: "1 batch", "2 batches".</summary>
    internal static string Plural(long count, string one, string many) => count == 1 ? one : many;

    private void PrintPlan(TextWriter output)
    {
        var d = DedicatedReplay;
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"[traffic] replaying {d.Trace.Name} ({d.Trace.Rows:N0} requests, {d.Trace.PeriodSeconds / 60:0} min): demand every {SignalInterval.TotalSeconds:0} s, usage of {Dedicated} metered for {Customer}"));
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"[traffic] {Dedicated} plays it at {d.Speed:0.00}x (about {DedicatedMeanTokensPerSecond / (double)TokensPerSecondPerReplica:0.0} replicas), {d.Spikes.Factor:0}x that for {d.Spikes.Spike.TotalSeconds:0} s every {d.Spikes.Cycle.TotalSeconds:0} s, preempting batch work; {Serverless} at {ServerlessReplay.Speed:0.00}x; {SharedDedicatedModel} at {SharedDedicatedModelReplay.Speed:0.00}x, on {Dedicated}'s spare, spilling to partner {Partner} (up to {PartnerCapacityTokensPerSecond:0} tokens/s)"));
    }

    private async Task LoopAsync(AdminClient admin, GatewayBilling billing, string gateway, TextWriter output, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var runId = UsageEvents.RunId(started);
        var metered = (Elapsed: TimeSpan.Zero, At: started);
        long sequence = 0;
        using var timer = new PeriodicTimer(SignalInterval);
        do
        {
            var now = DateTimeOffset.UtcNow;
            var elapsed = now - started;
            try
            {
                var demand = DedicatedReplay.DemandAt(elapsed);
                await admin.PostAsync(
                    "gateway/v1/demand",
                    new
                    {
                        signals = new object[]
                        {
                            new { deploymentId = Batch, tokensPerSecond = 1 },
                            new { deploymentId = Serverless, tokensPerSecond = ServerlessReplay.DemandAt(elapsed) },
                            new { deploymentId = SharedDedicatedModel, tokensPerSecond = SharedDedicatedModelReplay.DemandAt(elapsed) },
                            new { deploymentId = Dedicated, tokensPerSecond = demand },
                        },
                    },
                    cancellationToken,
                    gateway);

                var requests = DedicatedReplay.RequestsBetween(metered.Elapsed, elapsed);
                var batch = UsageEvents.Build(
                    runId,
                    ++sequence,
                    Metered,
                    requests,
                    (DedicatedReplay.PositionAt(metered.Elapsed), DedicatedReplay.PositionAt(elapsed)),
                    (metered.At, now));
                metered = (elapsed, now);
                if (batch is not null)
                {
                    await SendUsageAsync(admin, batch, gateway, output);
                }

                output.Write(await DescribeAsync(admin, gateway, demand, DedicatedReplay.Spikes.IsSpiking(elapsed), cancellationToken));
                var balance = await billing.DescribeAsync(admin, DateTimeOffset.UtcNow, cancellationToken);
                output.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"[billing] +{requests.Count} request{(requests.Count == 1 ? "" : "s")}, {requests.Sum(r => r.Tokens):N0} tokens{(balance is null ? " (pay-as-you-go)" : " | " + balance)}"));
            }
            catch (AdminApiException e)
            {
                // The next interval tries again: a slow or restarting server should not end the traffic.
                output.WriteLine($"[traffic] {e.Message}");
            }
        }
        while (await timer.WaitForNextTickAsync(cancellationToken));
    }

    /// <summary>
    /// Sends <paramref name="batch"/>, and once more as it is if that fails: the same ids make the resend safe. Not
    /// cancelled with the run, so a batch in flight when the run stops gets its answer and is counted in the totals.
    /// </summary>
    private async Task SendUsageAsync(AdminClient admin, UsageBatch batch, string gateway, TextWriter output)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var answer = await admin.PostAsync("gateway/v1/usage", new { batchId = batch.BatchId, events = batch.Events }, CancellationToken.None, gateway, HttpStatusCode.OK);
                Totals = Totals.Acknowledged(batch, answer.GetProperty("duplicates").GetInt64());
                return;
            }
            catch (AdminApiException e) when (attempt == 1)
            {
                output.WriteLine($"[traffic] usage batch {batch.BatchId} failed, sending it again: {e.Message}");
            }
            catch (AdminApiException e)
            {
                Totals = Totals with { Unacknowledged = Totals.Unacknowledged + 1 };
                output.WriteLine($"[traffic] usage batch {batch.BatchId} not acknowledged ({batch.Events.Count} events may be counted or not): {e.Message}");
                return;
            }
        }
    }

    /// <summary>The title of the API's 409 for a reservation that does not fit (now: no ready node may hold it).</summary>
    private const string ReservationRefused = "The reservation cannot be honoured.";

    private const int ReservationAttempts = 30;

    private static async Task CreateAsync(AdminClient admin, int totalGpus, TextWriter output, CancellationToken cancellationToken)
    {
        object[] deployments =
        [
            new { deploymentId = Batch, model = "llama-3.1-8b", @class = "batch", gpusPerReplica = 1, maxReplicas = Math.Max(1, totalGpus), tokensPerSecondPerReplica = 2_500 },
            new { deploymentId = Serverless, model = "llama-3.1-8b", @class = "serverless", gpusPerReplica = 1, minReplicas = 1, maxReplicas = 8, tokensPerSecondPerReplica = TokensPerSecondPerReplica },
            new { deploymentId = Dedicated, model = DedicatedModel, @class = "dedicated", customerId = Customer, gpusPerReplica = 2, minReplicas = 1, reservedReplicas = 2, maxReplicas = 6, tokensPerSecondPerReplica = TokensPerSecondPerReplica },
            new { deploymentId = SharedDedicatedModel, model = DedicatedModel, @class = "serverless", gpusPerReplica = 2, minReplicas = 0, maxReplicas = 1, tokensPerSecondPerReplica = TokensPerSecondPerReplica },
        ];
        foreach (var deployment in deployments)
        {
            // The agents were just started: until their first heartbeats make the nodes ready, a reservation has nowhere to
            // go and is refused (409). Ask again for a while rather than run the demo without its dedicated deployment.
            for (var attempt = 1; ; attempt++)
            {
                var created = await admin.PostAsync("admin/v1/deployments", deployment, cancellationToken, accepted: [HttpStatusCode.Created, HttpStatusCode.Conflict]);
                if (created.ValueKind == JsonValueKind.Object && created.TryGetProperty("deploymentId", out var id))
                {
                    output.WriteLine($"[traffic] created deployment {id.GetString()} ({created.GetProperty("class").GetString()}, {created.GetProperty("reservedReplicas").GetInt32()} reserved, at most {created.GetProperty("maxReplicas").GetInt32()} replicas)");
                    break;
                }

                var refused = created.ValueKind == JsonValueKind.Object && created.TryGetProperty("title", out var title)
                    && title.GetString() == ReservationRefused;
                if (!refused || attempt == ReservationAttempts)
                {
                    if (refused)
                    {
                        output.WriteLine($"[traffic] a deployment's reservation was still refused after {ReservationAttempts} attempts: {created.GetProperty("detail").GetString()}");
                    }

                    break;
                }

                if (attempt == 1)
                {
                    output.WriteLine("[traffic] a reservation has no ready node yet; asking again every 2 s while the agents' first heartbeats arrive");
                }

                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            }
        }

        // A repeated PUT with the same terms changes nothing, so a second run against the same server is fine.
        await admin.PutAsync(
            $"admin/v1/partners/{Partner}",
            new { models = new[] { DedicatedModel, "llama-3.1-8b" }, usdPer1MTokens = 0.9m, capacityTokensPerSecond = PartnerCapacityTokensPerSecond },
            cancellationToken);
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"[traffic] partner {Partner} serves {DedicatedModel} and llama-3.1-8b at 0.90 USD per 1M tokens, up to {PartnerCapacityTokensPerSecond:0} tokens/s"));
    }

    private static async Task<string> DescribeAsync(AdminClient admin, string gateway, decimal dedicatedDemand, bool spiking, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var list = await admin.GetJsonAsync("admin/v1/deployments", cancellationToken);
        text.Append(CultureInfo.InvariantCulture, $"[traffic] {DateTimeOffset.Now:HH:mm:ss}  {Dedicated} demand {dedicatedDemand:0} tokens/s{(spiking ? " (spike)" : "")} |");
        foreach (var d in list.EnumerateArray())
        {
            text.Append(CultureInfo.InvariantCulture, $" {d.GetProperty("deploymentId").GetString()}: {d.GetProperty("readyReplicas").GetInt32()}/{d.GetProperty("placedReplicas").GetInt32()}/{d.GetProperty("desiredReplicas").GetInt32()}");
        }

        text.AppendLine("  (ready/placed/desired)");
        var routes = new List<(string, JsonElement)>();
        foreach (var shared in new[] { SharedDedicatedModel, Serverless })
        {
            routes.Add((shared, await admin.GetJsonAsync($"gateway/v1/deployments/{shared}/endpoints", cancellationToken, gateway)));
        }

        text.Append(SharingSummary.Render(routes, await admin.GetTextAsync("metrics", cancellationToken)));
        var pools = await admin.GetJsonAsync("admin/v1/pools", cancellationToken);
        foreach (var pool in pools.EnumerateArray())
        {
            var a = pool.GetProperty("allocation");
            text.Append(CultureInfo.InvariantCulture, $"           GPUs in {pool.GetProperty("region").GetString()}: {a.GetProperty("reserved").GetInt32()} reserved, {a.GetProperty("burst").GetInt32()} burst, {a.GetProperty("serverless").GetInt32()} serverless, {a.GetProperty("batch").GetInt32()} batch, {a.GetProperty("idle").GetInt32()} idle, {a.GetProperty("unavailable").GetInt32()} unavailable").AppendLine();
        }

        return text.ToString();
    }
}
