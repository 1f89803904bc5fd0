namespace ControlPlane.Domain.Fleet;

/// <summary>One GPU as the control plane keeps it: the identity and capacity that placement depends on.</summary>
/// <param name="Index">The agent's index (nvidia-smi's).</param>
/// <param name="Uuid">The GPU's globally unique id.</param>
/// <param name="Name">The product name as reported.</param>
/// <param name="MemoryTotalMiB">Total memory.</param>
/// <param name="Sku">Normalised SKU id from <see cref="GpuSkuCatalog"/>.</param>
/// <param name="Healthy">False once the GPU reports uncorrected ECC errors.</param>
[GenerateSerializer, Alias("gpu-slot")]
public sealed record GpuSlot(
    [property: Id(0)] int Index,
    [property: Id(1)] string Uuid,
    [property: Id(2)] string Name,
    [property: Id(3)] long MemoryTotalMiB,
    [property: Id(4)] string Sku,
    [property: Id(5)] bool Healthy);

/// <summary>What a node reports about one GPU in a heartbeat; every reading but identity may be unknown.</summary>
[GenerateSerializer, Alias("gpu-reading")]
public sealed record GpuReading(
    [property: Id(0)] int Index,
    [property: Id(1)] string Uuid,
    [property: Id(2)] string Name,
    [property: Id(3)] long MemoryTotalMiB,
    [property: Id(4)] long? MemoryUsedMiB,
    [property: Id(5)] int? UtilizationPercent,
    [property: Id(6)] int? TemperatureC,
    [property: Id(7)] double? PowerWatts,
    [property: Id(8)] long? EccUncorrected);

/// <summary>A node's GPUs summarised the way operators and placement read them.</summary>
/// <param name="Sku">The node's SKU; <c>mixed</c> when its GPUs differ, null with no GPUs.</param>
/// <param name="GpuCount">GPUs reported.</param>
/// <param name="GpuMemoryMiB">Memory of the smallest GPU: what a replica can count on per GPU.</param>
/// <param name="HealthyGpuCount">GPUs without uncorrected ECC errors.</param>
public sealed record InventorySummary(string? Sku, int GpuCount, long GpuMemoryMiB, int HealthyGpuCount);

public static class GpuInventory
{
    public const string MixedSku = "mixed";

    /// <summary>The slots a heartbeat's readings describe, ordered by index.</summary>
    public static IReadOnlyList<GpuSlot> ToSlots(IEnumerable<GpuReading> readings) =>
        readings
            .OrderBy(r => r.Index)
            .Select(r => new GpuSlot(
                r.Index,
                r.Uuid,
                r.Name,
                r.MemoryTotalMiB,
                GpuSkuCatalog.Resolve(r.Name, r.MemoryTotalMiB),
                Healthy: r.EccUncorrected is null or 0))
            .ToArray();

    public static InventorySummary Summarise(IReadOnlyList<GpuSlot> slots)
    {
        if (slots.Count == 0)
        {
            return new InventorySummary(null, 0, 0, 0);
        }

        var skus = slots.Select(s => s.Sku).Distinct(StringComparer.Ordinal).ToArray();
        return new InventorySummary(
            skus.Length == 1 ? skus[0] : MixedSku,
            slots.Count,
            slots.Min(s => s.MemoryTotalMiB),
            slots.Count(s => s.Healthy));
    }

    /// <summary>Whether two inventories differ in anything that must be stored (not in live readings).</summary>
    public static bool SameInventory(IReadOnlyList<GpuSlot> a, IReadOnlyList<GpuSlot> b) => a.SequenceEqual(b);
}
