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
            ("dedicated SLO attainment", p => Percent(p.DedicatedSloAttainment, 2)),
            ("  demand within reservation", p => Percent(p.DedicatedReservedSloAttainment, 2)),
            ("  all demand, nothing forgiven", p => Percent(p.DemandTokens.Dedicated == 0 ? 1 : (double)p.ServedTokens.Dedicated / p.DemandTokens.Dedicated, 2)),
            ("preemptions", p => F($"{p.Preemptions:N0}")),
            ("  of them by dedicated", p => F($"{p.PreemptedReplicas.ByDedicated:N0}")),
            ("spilled shared tokens", p => Tokens(p.SpilledSharedTokens)),
            ("served tokens: dedicated", p => Tokens(p.ServedTokens.Dedicated)),
            ("               serverless", p => Tokens(p.ServedTokens.Serverless)),
            ("               batch", p => Tokens(p.ServedTokens.Batch)),
            ("GPU cost", p => F($"${p.GpuCostUsd:N2}")),
            ("revenue", p => F($"${p.RevenueUsd:N2}")),
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

        return text.ToString();
    }

    private static string Percent(double ratio, int decimals) => (ratio * 100).ToString("F" + decimals, CultureInfo.InvariantCulture) + "%";

    private static string Tokens(long tokens) => tokens >= 1_000_000_000
        ? F($"{tokens / 1e9:0.00} G")
        : tokens >= 1_000_000 ? F($"{tokens / 1e6:0.00} M") : F($"{tokens:N0}");

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
