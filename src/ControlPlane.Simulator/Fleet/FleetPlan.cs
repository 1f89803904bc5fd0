using System.Globalization;

namespace ControlPlane.Simulator.Fleet;

/// <summary>A GPU product as nvidia-smi names it, with the power range its readings move in.</summary>
/// <param name="Name">The product name nvidia-smi prints.</param>
/// <param name="MemoryMiB">Total memory as nvidia-smi prints it (what the server's SKU catalogue matches on).</param>
/// <param name="IdleWatts">Power draw with nothing running.</param>
/// <param name="MaxWatts">Power limit (TDP).</param>
internal sealed record GpuModel(string Name, long MemoryMiB, int IdleWatts, int MaxWatts)
{
    public static readonly GpuModel H100 = new("NVIDIA H100 80GB HBM3", 81559, 70, 700);
    public static readonly GpuModel H200 = new("NVIDIA H200", 143771, 75, 700);
    public static readonly GpuModel L40S = new("NVIDIA L40S", 46068, 35, 350);
}

/// <summary>One simulated machine: what the operator enrolls and what its GPUs are.</summary>
internal sealed record NodeSpec(
    string NodeId,
    string Region,
    string Provider,
    string Ownership,
    decimal HourlyCostUsd,
    GpuModel Gpu,
    int GpuCount);

/// <summary>The simulated fleet: a fixed, realistic mix of regions, SKUs, owners and costs.</summary>
internal static class FleetPlan
{
    private sealed record Template(string Region, string SkuShort, string Provider, string Ownership, decimal HourlyCostUsd, GpuModel Gpu, int GpuCount);

    // Node i always gets the same template whatever the fleet size, so a rerun of `live` against the same
    // server enrolls the same terms and its Idempotency-Key returns the same tokens.
    private static readonly Template[] Templates =
    [
        new("eu-west", "h100", "own-dc", "owned", 24.50m, GpuModel.H100, 8),
        new("us-east", "h200", "coreweave", "rented", 31.00m, GpuModel.H200, 8),
        new("eu-west", "l40s", "own-dc", "owned", 9.80m, GpuModel.L40S, 4),
        new("us-east", "h100", "lambda", "rented", 26.00m, GpuModel.H100, 8),
        new("eu-west", "h200", "nebius", "rented", 31.00m, GpuModel.H200, 8),
        new("us-east", "l40s", "own-dc", "owned", 9.80m, GpuModel.L40S, 8),
    ];

    /// <summary>The first <paramref name="count"/> nodes of the plan, named <c>sim-{region}-{gpu}-{nn}</c>.</summary>
    internal static IReadOnlyList<NodeSpec> Create(int count) =>
        Enumerable.Range(0, count).Select(i =>
        {
            var t = Templates[i % Templates.Length];
            var nodeId = $"sim-{t.Region}-{t.SkuShort}-{(i + 1).ToString("D2", CultureInfo.InvariantCulture)}";
            return new NodeSpec(nodeId, t.Region, t.Provider, t.Ownership, t.HourlyCostUsd, t.Gpu, t.GpuCount);
        }).ToArray();
}
