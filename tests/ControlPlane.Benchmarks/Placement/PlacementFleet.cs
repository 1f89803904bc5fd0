using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;

namespace ControlPlane.Benchmarks.Placement;

/// <summary>
/// The fleet the placement benchmarks decide on: 8-GPU nodes of four SKUs in three regions, owned and rented,
/// about 90% busy with replicas of 1 to 8 GPUs of every tier, so free GPUs are scattered in small pieces.
/// </summary>
internal static class PlacementFleet
{
    private static readonly (string Sku, long MemoryMiB, decimal CostPerGpu)[] Skus =
    [
        ("h100-sxm-80gb", 81_559, 2.20m),
        ("h200-141gb", 143_771, 3.10m),
        ("a100-80gb", 81_920, 1.40m),
        ("l40s-48gb", 46_068, 0.90m),
    ];

    public static readonly string[] Regions = ["eu-west", "us-east", "ap-south"];

    public static FleetSnapshot Create(int gpus, int seed)
    {
        var random = new Random(seed);
        var nodes = new List<PlacementNode>();
        for (var n = 0; n < gpus / 8; n++)
        {
            var (sku, memory, costPerGpu) = Skus[random.Next(Skus.Length)];
            var ownership = random.Next(3) == 0 ? Ownership.Rented : Ownership.Owned;
            var cost = costPerGpu * 8 * (ownership == Ownership.Rented ? 1.25m : 1m);
            var node = PlacementNode.Create($"node-{n:D6}", Regions[random.Next(Regions.Length)], sku, memory, 8, cost, ownership);
            nodes.Add(node with { Slots = Fill(random, n) });
        }

        return new FleetSnapshot(nodes);
    }

    public static DeploymentSpec Spec(string id, DeploymentClass cls, int gpus, int minMemoryGiB) =>
        new(id, "model", cls, cls == DeploymentClass.Dedicated ? "acme" : null, gpus, minMemoryGiB, null, null, 0, 0, 100, 1_000m);

    /// <summary>About 90% busy: replicas of 1 to 8 GPUs, tiers mixed, small free pieces left between them.</summary>
    private static NodeSlots Fill(Random random, int node)
    {
        var holders = new GpuHolder?[8];
        var gpu = 0;
        var replica = 0;
        while (gpu < 8)
        {
            if (random.NextDouble() < 0.1)
            {
                gpu++;
                continue;
            }

            var size = Math.Min(8 - gpu, random.Next(4) switch { 0 => 1, 1 => 2, 2 => 4, _ => 8 });
            var tier = random.Next(10) switch
            {
                < 4 => ReplicaTier.Batch,
                < 7 => ReplicaTier.Serverless,
                < 9 => ReplicaTier.Burst,
                _ => ReplicaTier.Reserved,
            };
            var holder = new GpuHolder($"r-{node}-{replica++}", $"d-{tier}-{size}", tier);
            for (var i = 0; i < size; i++)
            {
                holders[gpu++] = holder;
            }
        }

        return new NodeSlots(holders);
    }
}
