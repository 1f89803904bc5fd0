using ControlPlane.Domain.Fleet;

namespace ControlPlane.Domain.Tests.Fleet;

public sealed class GpuSkuCatalogTests
{
    [Theory]
    // The H200 row is nvidia-smi's real output (driver 580.159.04); the others are the names and sizes these products report.
    [InlineData("NVIDIA H200", 143771, "h200-141gb")]
    [InlineData("NVIDIA H100 80GB HBM3", 81559, "h100-sxm-80gb")]
    [InlineData("NVIDIA H100 PCIe", 81559, "h100-pcie-80gb")]
    [InlineData("NVIDIA H100 NVL", 95830, "h100-nvl-94gb")]
    [InlineData("NVIDIA A100-SXM4-80GB", 81920, "a100-80gb")]
    [InlineData("NVIDIA A100-SXM4-40GB", 40960, "a100-40gb")]
    [InlineData("NVIDIA L40S", 46068, "l40s-48gb")]
    [InlineData("NVIDIA L4", 23034, "l4-24gb")]
    [InlineData("NVIDIA GH200 480GB", 97871, "gh200-96gb")]
    [InlineData("NVIDIA B200", 183359, "b200-180gb")]
    public void Resolve_KnownProduct_ReturnsCatalogueId(string name, long memoryMiB, string expected)
    {
        Assert.Equal(expected, GpuSkuCatalog.Resolve(name, memoryMiB));
    }

    [Fact]
    public void Resolve_UnknownProduct_ReturnsStableSlugWithMemory()
    {
        Assert.Equal("other-rtx-pro-6000-blackwell-96gb", GpuSkuCatalog.Resolve("NVIDIA RTX PRO 6000 Blackwell", 97887));
        Assert.Equal("other-rtx-pro-6000-blackwell-96gb", GpuSkuCatalog.Resolve("  NVIDIA RTX PRO 6000 Blackwell ", 97887));
    }

    [Fact]
    public void Resolve_KnownNameWithUnexpectedMemory_IsNotTakenForTheCatalogueSku()
    {
        // An H100 reporting 40 GB is not the 80 GB product (e.g. a MIG slice or a mis-read); placement must not assume 80 GB.
        Assert.StartsWith("other-", GpuSkuCatalog.Resolve("NVIDIA H100 80GB HBM3", 40_000));
    }

    [Fact]
    public void Known_IdsAreUnique()
    {
        Assert.Equal(GpuSkuCatalog.Known.Count, GpuSkuCatalog.Known.Select(s => s.Id).Distinct().Count());
    }
}
