using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ControlPlane.Simulator.Live;

/// <summary>
/// The demo's line about liquid capacity at the request grain: the shared tokens dedicated replicas carry (the
/// routing answer's <c>dedicated-slack</c> routes of the shared deployments), the demand spilled to partners (its
/// <c>partner</c> routes), and model loads on nodes that held the weights (warm) or not (cold), from <c>/metrics</c>; when
/// there are any, the engines of dedicated replicas asleep on nodes and the replicas that woke one instead of loading.
/// </summary>
internal static partial class SharingSummary
{
    /// <summary>The line, indented under a <c>[traffic]</c> line.</summary>
    /// <param name="routes">Each shared deployment's id and its routing answer (<c>GET /gateway/v1/deployments/{id}/endpoints</c>).</param>
    /// <param name="metrics">The server's <c>/metrics</c> text; null when it could not be read.</param>
    public static string Render(IReadOnlyList<(string DeploymentId, JsonElement Endpoints)> routes, string? metrics)
    {
        var slack = new List<string>();
        var partners = new SortedDictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var (deploymentId, endpoints) in routes)
        {
            var lenders = new SortedDictionary<string, (decimal Tokens, HashSet<string> Replicas)>(StringComparer.Ordinal);
            foreach (var route in Routes(endpoints))
            {
                var tokens = route.GetProperty("tokensPerSecond").GetDecimal();
                switch (route.GetProperty("kind").GetString())
                {
                    case "dedicated-slack" when route.TryGetProperty("deploymentId", out var lender):
                        var (sum, replicas) = lenders.GetValueOrDefault(lender.GetString()!, (0m, new HashSet<string>(StringComparer.Ordinal)));
                        if (route.TryGetProperty("replicaId", out var replica))
                        {
                            replicas.Add(replica.GetString()!);
                        }

                        lenders[lender.GetString()!] = (sum + tokens, replicas);
                        break;
                    case "partner" when route.TryGetProperty("partnerId", out var partner):
                        partners[partner.GetString()!] = partners.GetValueOrDefault(partner.GetString()!) + tokens;
                        break;
                }
            }

            slack.AddRange(lenders.Select(l => string.Create(
                CultureInfo.InvariantCulture,
                $"{l.Value.Tokens:0} tokens/s of {deploymentId} on {l.Key}'s {l.Value.Replicas.Count} dedicated replica{(l.Value.Replicas.Count == 1 ? "" : "s")}")));
        }

        var shared = slack.Count == 0 ? "no shared tokens on dedicated replicas" : string.Join(", ", slack);
        var spill = partners.Count == 0
            ? "no partner spill"
            : "partner spill " + string.Join(", ", partners.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Value:0} tokens/s to {p.Key}")));
        var loads = metrics is null
            ? "model loads unknown"
            : string.Create(CultureInfo.InvariantCulture, $"model loads {Counter(metrics, "warm")} warm, {Counter(metrics, "cold")} cold");
        var (asleep, wakes) = metrics is null ? (0L, 0L) : (Sum(metrics, SleepingGauge()), Sum(metrics, WakesCounter()));
        var sleeping = asleep == 0 && wakes == 0
            ? ""
            : string.Create(CultureInfo.InvariantCulture, $" | {asleep} engine{(asleep == 1 ? "" : "s")} asleep, {wakes} wake{(wakes == 1 ? "" : "s")}");
        return $"           shared: {shared} | {spill} | {loads}{sleeping}{Environment.NewLine}";
    }

    private static IEnumerable<JsonElement> Routes(JsonElement endpoints) =>
        endpoints.ValueKind == JsonValueKind.Object && endpoints.TryGetProperty("routes", out var routes) && routes.ValueKind == JsonValueKind.Array
            ? routes.EnumerateArray()
            : [];

    /// <summary>A <c>controlplane_model_loads_total</c> series (0 before the first load of its kind).</summary>
    private static long Counter(string metrics, string cache)
    {
        foreach (Match m in LoadsCounter().Matches(metrics))
        {
            if (m.Groups["labels"].Value.Contains($"cache=\"{cache}\"", StringComparison.Ordinal))
            {
                return (long)double.Parse(m.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>Every series of a metric added up (the sleeping gauge has one per region).</summary>
    private static long Sum(string metrics, Regex metric) =>
        metric.Matches(metrics).Sum(m => (long)double.Parse(m.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^controlplane_model_loads_total\{(?<labels>[^}]*)\} (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex LoadsCounter();

    [GeneratedRegex(@"^controlplane_engines_sleeping(\{[^}]*\})? (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex SleepingGauge();

    [GeneratedRegex(@"^controlplane_wakes_total(\{[^}]*\})? (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex WakesCounter();
}
