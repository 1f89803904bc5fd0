using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace ControlPlane.Simulator.Live;

/// <summary>
/// The demo's gateway: it creates three deployments (a batch backlog, a serverless endpoint and a customer's
/// dedicated endpoint with 2 reserved replicas) and sends demand every few seconds. The dedicated demand spikes
/// for a while every cycle, so the batch work is preempted, and the burst replicas give their GPUs back once the
/// spike has passed the scale-down delay. Prints the deployments and where the GPUs are after every signal.
/// </summary>
internal static class DemoTraffic
{
    public const string Batch = "batch-backlog";
    public const string Serverless = "serverless-8b";
    public const string Dedicated = "acme-chat";

    private static readonly TimeSpan SignalInterval = TimeSpan.FromSeconds(5);

    /// <summary>Length of one demand cycle and of the spike inside it.</summary>
    private static readonly TimeSpan Cycle = TimeSpan.FromSeconds(150);

    private static readonly TimeSpan Spike = TimeSpan.FromSeconds(45);

    /// <summary>When in each cycle the spike starts: after batch has had time to fill the fleet.</summary>
    private static readonly TimeSpan SpikeStart = TimeSpan.FromSeconds(20);

    public static async Task RunAsync(AdminClient admin, int totalGpus, TextWriter output, CancellationToken cancellationToken)
    {
        try
        {
            await CreateAsync(admin, totalGpus, output, cancellationToken);
            var gateway = (await admin.PostAsync("admin/v1/tokens", new { role = "gateway", subject = "demo-gateway" }, cancellationToken))
                .GetProperty("token").GetString()!;
            output.WriteLine($"[traffic] demand every {SignalInterval.TotalSeconds:0} s; {Dedicated} spikes to 6 replicas for {Spike.TotalSeconds:0} s every {Cycle.TotalSeconds:0} s, preempting batch work");
            var started = DateTimeOffset.UtcNow;
            using var timer = new PeriodicTimer(SignalInterval);
            do
            {
                var elapsed = DateTimeOffset.UtcNow - started;
                var intoCycle = elapsed.TotalSeconds % Cycle.TotalSeconds;
                var inSpike = intoCycle >= SpikeStart.TotalSeconds && intoCycle < (SpikeStart + Spike).TotalSeconds;
                var dedicated = inSpike ? 5_500m : 1_500m;
                var serverless = 2_000m + (decimal)Math.Round(1_500 * (1 + Math.Sin(elapsed.TotalSeconds / 40)), 0);
                await admin.PostAsync(
                    "gateway/v1/demand",
                    new { signals = new object[] { new { deploymentId = Batch, tokensPerSecond = 1 }, new { deploymentId = Serverless, tokensPerSecond = serverless }, new { deploymentId = Dedicated, tokensPerSecond = dedicated } } },
                    cancellationToken,
                    gateway);
                output.Write(await DescribeAsync(admin, dedicated, cancellationToken));
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (AdminApiException e)
        {
            output.WriteLine($"[traffic] stopped: {e.Message}");
        }
    }

    private static async Task CreateAsync(AdminClient admin, int totalGpus, TextWriter output, CancellationToken cancellationToken)
    {
        object[] deployments =
        [
            new { deploymentId = Batch, model = "llama-3.1-8b", @class = "batch", gpusPerReplica = 1, maxReplicas = Math.Max(1, totalGpus), tokensPerSecondPerReplica = 2_500 },
            new { deploymentId = Serverless, model = "llama-3.1-8b", @class = "serverless", gpusPerReplica = 1, minReplicas = 1, maxReplicas = 8, tokensPerSecondPerReplica = 1_000 },
            new { deploymentId = Dedicated, model = "llama-3.1-70b", @class = "dedicated", customerId = "acme", gpusPerReplica = 2, minReplicas = 1, reservedReplicas = 2, maxReplicas = 6, tokensPerSecondPerReplica = 1_000 },
        ];
        foreach (var deployment in deployments)
        {
            var created = await admin.PostAsync("admin/v1/deployments", deployment, cancellationToken, accepted: [HttpStatusCode.Created, HttpStatusCode.Conflict]);
            if (created.ValueKind == JsonValueKind.Object && created.TryGetProperty("deploymentId", out var id))
            {
                output.WriteLine($"[traffic] created deployment {id.GetString()} ({created.GetProperty("class").GetString()}, {created.GetProperty("reservedReplicas").GetInt32()} reserved, at most {created.GetProperty("maxReplicas").GetInt32()} replicas)");
            }
        }
    }

    private static async Task<string> DescribeAsync(AdminClient admin, decimal dedicatedDemand, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var list = await admin.GetJsonAsync("admin/v1/deployments", cancellationToken);
        text.Append(CultureInfo.InvariantCulture, $"[traffic] {DateTimeOffset.Now:HH:mm:ss}  {Dedicated} demand {dedicatedDemand:0} tokens/s |");
        foreach (var d in list.EnumerateArray())
        {
            text.Append(CultureInfo.InvariantCulture, $" {d.GetProperty("deploymentId").GetString()}: {d.GetProperty("readyReplicas").GetInt32()}/{d.GetProperty("placedReplicas").GetInt32()}/{d.GetProperty("desiredReplicas").GetInt32()}");
        }

        text.AppendLine("  (ready/placed/desired)");
        var pools = await admin.GetJsonAsync("admin/v1/pools", cancellationToken);
        foreach (var pool in pools.EnumerateArray())
        {
            var a = pool.GetProperty("allocation");
            text.Append(CultureInfo.InvariantCulture, $"           GPUs in {pool.GetProperty("region").GetString()}: {a.GetProperty("reserved").GetInt32()} reserved, {a.GetProperty("burst").GetInt32()} burst, {a.GetProperty("serverless").GetInt32()} serverless, {a.GetProperty("batch").GetInt32()} batch, {a.GetProperty("idle").GetInt32()} idle, {a.GetProperty("unavailable").GetInt32()} unavailable").AppendLine();
        }

        return text.ToString();
    }
}
