using System.Globalization;
using System.Net;
using System.Text;

namespace ControlPlane.Simulator.Simulation;

/// <summary>
/// The <c>--plot</c> picture, as hand-written SVG: one panel per policy, GPUs by pool stacked over time (dedicated,
/// shared, idle, down) and the fleet's utilization as a line on the right-hand 0-100% scale.
/// </summary>
internal static class SvgPlot
{
    private const int Width = 1000;
    private const int PanelHeight = 260;
    private const int Left = 70;
    private const int Right = 60;
    private const int Top = 50;
    private const int PanelGap = 70;
    private const int MaxPoints = 720;

    private static readonly (string Name, string Color)[] Pools =
    [
        ("dedicated", "#4e79a7"),
        ("shared", "#59a14f"),
        ("idle", "#d4d0cc"),
        ("down", "#e15759"),
    ];

    public static string Render(string title, int totalGpus, IReadOnlyList<(string Policy, PolicyReport Report)> policies)
    {
        var height = Top + policies.Count * (PanelHeight + PanelGap) + 10;
        var svg = new StringBuilder();
        svg.Append(F($"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{height}" viewBox="0 0 {Width} {height}" font-family="sans-serif" font-size="12">""")).AppendLine();
        svg.Append(F($"""<rect width="{Width}" height="{height}" fill="white"/>""")).AppendLine();
        svg.Append(F($"""<text x="{Left}" y="24" font-size="16" font-weight="bold">{Escape(title)}</text>""")).AppendLine();
        for (var p = 0; p < policies.Count; p++)
        {
            Panel(svg, Top + p * (PanelHeight + PanelGap), totalGpus, policies[p].Policy, policies[p].Report);
        }

        svg.Append("</svg>").AppendLine();
        return svg.ToString();
    }

    private static void Panel(StringBuilder svg, int top, int totalGpus, string policy, PolicyReport report)
    {
        var series = report.Series ?? throw new ArgumentException("the report has no step series", nameof(report));
        var plotWidth = Width - Left - Right;
        var steps = series.Utilization.Length;
        var hours = (double)steps * series.StepSeconds / 3600;
        var bucket = Math.Max(1, (int)Math.Ceiling(steps / (double)MaxPoints));
        var points = (steps + bucket - 1) / bucket;

        double Mean(Func<int, double> value, int b)
        {
            var end = Math.Min(steps, (b + 1) * bucket);
            var sum = 0.0;
            for (var k = b * bucket; k < end; k++)
            {
                sum += value(k);
            }

            return sum / (end - b * bucket);
        }

        double X(int b) => Left + (points == 1 ? 0 : plotWidth * b / (double)(points - 1));
        double Y(double gpus) => top + PanelHeight - PanelHeight * gpus / Math.Max(1, totalGpus);

        svg.Append(F($"""<text x="{Left}" y="{top - 10}" font-size="14" font-weight="bold">{Escape(policy)}: utilization {report.Utilization * 100:0.0}%, dedicated tokens served {report.DedicatedServedShare * 100:0.000}% of due, {report.Preemptions:N0} preemptions</text>""")).AppendLine();

        // Pools stacked bottom-up, each band between the running total below it and above it.
        var below = new double[points];
        var layers = new Func<int, double>[]
        {
            k => series.DedicatedGpus[k],
            k => series.SharedGpus[k],
            k => series.IdleGpus[k],
            k => series.DownGpus[k],
        };
        for (var layer = 0; layer < layers.Length; layer++)
        {
            var above = new double[points];
            for (var b = 0; b < points; b++)
            {
                above[b] = below[b] + Mean(layers[layer], b);
            }

            var outline = new StringBuilder();
            for (var b = 0; b < points; b++)
            {
                outline.Append(F($"{X(b):0.#},{Y(above[b]):0.#} "));
            }

            for (var b = points - 1; b >= 0; b--)
            {
                outline.Append(F($"{X(b):0.#},{Y(below[b]):0.#} "));
            }

            svg.Append(F($"""<polygon points="{outline.ToString().TrimEnd()}" fill="{Pools[layer].Color}" stroke="none"/>""")).AppendLine();
            below = above;
        }

        // Utilization on the right-hand scale.
        var line = new StringBuilder();
        for (var b = 0; b < points; b++)
        {
            line.Append(F($"{X(b):0.#},{top + PanelHeight - PanelHeight * Mean(k => series.Utilization[k], b):0.#} "));
        }

        svg.Append(F($"""<polyline points="{line.ToString().TrimEnd()}" fill="none" stroke="black" stroke-width="2"/>""")).AppendLine();

        // Frame and axes.
        svg.Append(F($"""<rect x="{Left}" y="{top}" width="{plotWidth}" height="{PanelHeight}" fill="none" stroke="#333"/>""")).AppendLine();
        foreach (var fraction in new[] { 0.0, 0.25, 0.5, 0.75, 1.0 })
        {
            var y = top + PanelHeight - PanelHeight * fraction;
            svg.Append(F($"""<line x1="{Left - 4}" y1="{y:0.#}" x2="{Left}" y2="{y:0.#}" stroke="#333"/>"""));
            svg.Append(F($"""<text x="{Left - 8}" y="{y + 4:0.#}" text-anchor="end">{Math.Round(totalGpus * fraction):N0}</text>"""));
            svg.Append(F($"""<text x="{Width - Right + 8}" y="{y + 4:0.#}">{fraction * 100:0}%</text>""")).AppendLine();
        }

        svg.Append(F($"""<text x="16" y="{top + PanelHeight / 2}" transform="rotate(-90 16 {top + PanelHeight / 2})" text-anchor="middle">GPUs</text>"""));
        svg.Append(F($"""<text x="{Width - 14}" y="{top + PanelHeight / 2}" transform="rotate(90 {Width - 14} {top + PanelHeight / 2})" text-anchor="middle">utilization</text>""")).AppendLine();

        var tick = new[] { 0.25, 0.5, 1, 2, 3, 6, 12, 24, 48, 168, 720 }.First(t => hours / t <= 12);
        for (var h = 0.0; h <= hours + 1e-9; h += tick)
        {
            var x = Left + plotWidth * (hours <= 0 ? 0 : h / hours);
            svg.Append(F($"""<line x1="{x:0.#}" y1="{top + PanelHeight}" x2="{x:0.#}" y2="{top + PanelHeight + 4}" stroke="#333"/>"""));
            svg.Append(F($"""<text x="{x:0.#}" y="{top + PanelHeight + 17}" text-anchor="middle">{h:0.##} h</text>""")).AppendLine();
        }

        var legendX = Left;
        foreach (var (name, color) in Pools)
        {
            svg.Append(F($"""<rect x="{legendX}" y="{top + PanelHeight + 28}" width="12" height="12" fill="{color}"/><text x="{legendX + 16}" y="{top + PanelHeight + 38}">{name} GPUs</text>"""));
            legendX += 120;
        }

        svg.Append(F($"""<line x1="{legendX}" y1="{top + PanelHeight + 34}" x2="{legendX + 20}" y2="{top + PanelHeight + 34}" stroke="black" stroke-width="2"/><text x="{legendX + 26}" y="{top + PanelHeight + 38}">utilization</text>""")).AppendLine();
    }

    private static string Escape(string text) => WebUtility.HtmlEncode(text);

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
