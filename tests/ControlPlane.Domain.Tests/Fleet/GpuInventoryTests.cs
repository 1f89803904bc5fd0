using ControlPlane.Domain.Fleet;

namespace ControlPlane.Domain.Tests.Fleet;

public sealed class GpuInventoryTests
{
    private static GpuReading Reading(int index, string name = "NVIDIA H200", long memory = 143771, long? ecc = 0) =>
        new(index, $"GPU-{index}", name, memory, 0, 0, 40, 80.5, ecc);

    [Fact]
    public void Summarise_HomogeneousNode_ReportsSkuCountAndMemory()
    {
        var slots = GpuInventory.ToSlots([Reading(1), Reading(0)]);

        Assert.Equal([0, 1], slots.Select(s => s.Index));
        Assert.Equal(new InventorySummary("h200-141gb", 2, 143771, 2), GpuInventory.Summarise(slots));
    }

    [Fact]
    public void Summarise_UncorrectedEccErrors_MakeThatGpuUnhealthy()
    {
        var slots = GpuInventory.ToSlots([Reading(0), Reading(1, ecc: 3), Reading(2, ecc: null)]);

        Assert.Equal(2, GpuInventory.Summarise(slots).HealthyGpuCount);
    }

    [Fact]
    public void Summarise_MixedNode_ReportsMixedAndSmallestMemory()
    {
        var slots = GpuInventory.ToSlots([Reading(0), Reading(1, "NVIDIA H100 80GB HBM3", 81559)]);

        Assert.Equal(new InventorySummary(GpuInventory.MixedSku, 2, 81559, 2), GpuInventory.Summarise(slots));
    }

    [Fact]
    public void SameInventory_LiveReadingsDiffer_IsSame()
    {
        var a = GpuInventory.ToSlots([Reading(0) with { MemoryUsedMiB = 10, TemperatureC = 30 }]);
        var b = GpuInventory.ToSlots([Reading(0) with { MemoryUsedMiB = 90_000, TemperatureC = 70, PowerWatts = 650 }]);

        Assert.True(GpuInventory.SameInventory(a, b));
    }

    [Fact]
    public void SameInventory_GpuReplaced_IsNotSame()
    {
        var a = GpuInventory.ToSlots([Reading(0)]);
        var b = GpuInventory.ToSlots([Reading(0) with { Uuid = "GPU-new" }]);

        Assert.False(GpuInventory.SameInventory(a, b));
    }
}
