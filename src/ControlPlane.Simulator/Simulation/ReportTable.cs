using System.Globalization;
using System.Text;

namespace ControlPlane.Simulator.Simulation;

/// <summary>The short side-by-side table <c>simulate</c> prints: one column per policy run.</summary>
internal static class ReportTable
{
    public static string Render(SimulationReport report)
    {
        var policies = report.Policies.ToArray();
        var rows = new List<(string Label, Func<PolicyReport, string> Value)>
        {
            ("utilization", p => Percent(p.Utilization, 1)),
            ("dedicated tokens served of due", p => PercentDown(p.DedicatedServedShare, 3)),
            ("  within reservation", p => PercentDown(p.ReservedServedShare, 3)),
            ("  within reservation, worst deployment", p => PercentDown(p.WorstReservedServedShare, 3)),
            ("  wait for capacity p50/p99", p => F($"{p.TimeToCapacity.P50Seconds:0}/{p.TimeToCapacity.P99Seconds:0} s")),
            ("  waits", p => F($"{p.TimeToCapacity.Count:N0}")),
            ("serverless spilled (to partners)", p => Percent(p.ServerlessSpilledShare, 2)),
            ("  lost (no partner room)", p => Percent(p.ServerlessLostShare, 2)),
            ("shared tokens on dedicated", p => Tokens(p.SharedTokensOnDedicated)),
            ("dedicated tokens on shared", p => Tokens(p.DedicatedTokensOnShared)),
            ("loads warm/cold (prefetches)", p => F($"{p.Loads.Warm:N0}/{p.Loads.Cold:N0} ({p.Loads.Prefetches:N0})")),
            ("wakes of sleeping engines", p => F($"{p.Loads.Wakes:N0}")),
            ("served tokens: dedicated", p => Tokens(p.ServedTokens.Dedicated)),
            ("               serverless", p => Tokens(p.ServedTokens.Serverless)),
            ("               batch", p => Tokens(p.ServedTokens.Batch)),
            ("revenue", p => F($"${p.RevenueUsd:N2}")),
            ("GPU cost", p => F($"${p.GpuCostUsd:N2}")),
            ("partner cost", p => F($"${p.PartnerCostUsd:N2}")),
            ("margin", p => F($"${p.MarginUsd:N2}")),
            ("preemptions", p => F($"{p.Preemptions:N0}")),
            ("  of them by dedicated", p => F($"{p.PreemptedReplicas.ByDedicated:N0}")),
            ("SLO forgiving load-time waits", p => Percent(p.DedicatedSloAttainmentForgivingLoadTime, 2)),
            ("GPU-hours dedicated/shared/idle", p => F($"{p.GpuHours.Dedicated:N0}/{p.GpuHours.Shared:N0}/{p.GpuHours.Idle:N0}")),
            ("node failures", p => F($"{p.NodeFailures:N0}")),
            ("wall seconds", p => F($"{p.WallSeconds:0.0}")),
        };

        var labelWidth = rows.Max(r => r.Label.Length) + 2;
        var columnWidths = policies.Select(p => Math.Max(p.Key.Length, rows.Max(r => r.Value(p.Value).Length)) + 2).ToArray();
        var text = new StringBuilder();
        text.Append(F($"{report.Fleet.Name}: {report.Fleet.Nodes:N0} nodes, {report.Fleet.Gpus:N0} GPUs; {report.SimulatedHours:0.##} h simulated in {report.StepSeconds} s steps, seed {report.Seed}")).AppendLine();
        text.Append(new string(' ', labelWidth));
        for (var c = 0; c < policies.Length; c++)
        {
            text.Append(policies[c].Key.PadLeft(columnWidths[c]));
        }

        text.AppendLine();
        foreach (var (label, value) in rows)
        {
            text.Append(label.PadRight(labelWidth));
            for (var c = 0; c < policies.Length; c++)
            {
                text.Append(value(policies[c].Value).PadLeft(columnWidths[c]));
            }

            text.AppendLine();
        }

        if (report.LiquidToOracle is { } gap)
        {
            text.Append(F($"liquid to oracle: utilization {gap.UtilizationPoints:+0.00;-0.00;0.00} points, dedicated served {gap.DedicatedServedSharePoints:+0.000;-0.000;0.000} points, margin ${gap.MarginUsd:N2}")).AppendLine();
        }

        return text.ToString();
    }

    /// <summary>A share rounded down, so that anything short of all reads short of 100%.</summary>
    private static string PercentDown(double ratio, int decimals)
    {
        var scale = Math.Pow(10, decimals);
        return (Math.Floor(ratio * 100 * scale) / scale).ToString("F" + decimals, CultureInfo.InvariantCulture) + "%";
    }

    private static string Percent(double ratio, int decimals) => (ratio * 100).ToString("F" + decimals, CultureInfo.InvariantCulture) + "%";

    private static string Tokens(long tokens) => tokens >= 1_000_000_000
        ? F($"{tokens / 1e9:0.00} G")
        : tokens >= 1_000_000 ? F($"{tokens / 1e6:0.00} M") : F($"{tokens:N0}");

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
