using System.Globalization;
using System.Text;

namespace ControlPlane.Simulator.Live;

/// <summary>
/// The compact view printed every few seconds: each node's status, SKU and GPUs, then each region's pool.
/// Remembers the statuses it showed last, so a transition is marked where it happened.
/// </summary>
internal sealed class FleetSummary
{
    /// <summary>Above this many nodes, only those that need a look (not ready, changed, failing) are listed.</summary>
    public const int MaxNodesListed = 20;

    private const int MaxErrorLength = 70;

    private Dictionary<string, string> _lastStatus = new(StringComparer.Ordinal);

    public string Render(DateTimeOffset now, IReadOnlyList<NodeSummary> nodes, IReadOnlyList<PoolSummary> pools)
    {
        var text = new StringBuilder();
        var byStatus = nodes.GroupBy(n => n.Status).OrderBy(g => StatusOrder(g.Key)).Select(g => $"{g.Count()} {g.Key}");
        text.Append(CultureInfo.InvariantCulture, $"[fleet] {now.ToLocalTime():HH:mm:ss}  {nodes.Count} nodes: {string.Join(", ", byStatus)}").AppendLine();

        var sorted = nodes.OrderBy(n => n.NodeId, StringComparer.Ordinal).ToArray();
        var listed = sorted.Length <= MaxNodesListed
            ? sorted
            : sorted.Where(n => n.Status != "ready" || n.InventoryError is not null || Changed(n)).ToArray();
        var idWidth = listed.Length == 0 ? 0 : listed.Max(n => n.NodeId.Length);
        var skuWidth = listed.Length == 0 ? 0 : listed.Max(n => (n.Sku ?? "-").Length);
        foreach (var node in listed)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {node.NodeId.PadRight(idWidth)}  {node.Status,-9} {(node.Sku ?? "-").PadRight(skuWidth)}  {node.GpuCount,2} GPUs");

            // The node's own count is of GPUs in good order (ECC, a working nvidia-smi); its pool also leaves
            // out every GPU of a node that is not alive.
            if (node.HealthyGpuCount != node.GpuCount)
            {
                text.Append(CultureInfo.InvariantCulture, $" ({node.HealthyGpuCount} healthy)");
            }
            if (Changed(node))
            {
                text.Append(CultureInfo.InvariantCulture, $"  (was {_lastStatus[node.NodeId]})");
            }

            if (node.InventoryError is { } error)
            {
                text.Append("  inventory error: ").Append(error.Length > MaxErrorLength ? error[..MaxErrorLength] + "..." : error);
            }

            text.AppendLine();
        }

        if (listed.Length < sorted.Length)
        {
            text.Append(CultureInfo.InvariantCulture, $"  ({sorted.Length - listed.Length} more nodes ready and unchanged)").AppendLine();
        }

        var regions = pools.OrderBy(p => p.Region, StringComparer.Ordinal).Select(p =>
            $"{p.Region} {p.GpusHealthy}/{p.GpusTotal} GPUs healthy ({string.Join(", ", p.NodesByStatus.OrderBy(s => StatusOrder(s.Key)).Select(s => $"{s.Value} {s.Key}"))})");
        text.Append("  pools: ").AppendJoin(" | ", regions).AppendLine();

        _lastStatus = nodes.ToDictionary(n => n.NodeId, n => n.Status, StringComparer.Ordinal);
        return text.ToString();
    }

    private bool Changed(NodeSummary node) =>
        _lastStatus.TryGetValue(node.NodeId, out var last) && last != node.Status;

    private static int StatusOrder(string status) => status switch
    {
        "ready" => 0,
        "suspect" => 1,
        "down" => 2,
        "enrolled" => 3,
        "cordoned" => 4,
        "draining" => 5,
        _ => 6,
    };
}
