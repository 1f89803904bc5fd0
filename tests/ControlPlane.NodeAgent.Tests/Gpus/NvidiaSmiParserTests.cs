using ControlPlane.NodeAgent.Gpus;
using ControlPlane.NodeAgent.Tests.Support;

namespace ControlPlane.NodeAgent.Tests.Gpus;

public sealed class NvidiaSmiParserTests
{
    [Fact]
    public void Parse_RealH200Output_ReturnsExactValues()
    {
        var gpus = NvidiaSmiParser.Parse(Fixtures.Read(Fixtures.H200Csv));

        var gpu = Assert.Single(gpus);
        Assert.Equal(
            new GpuReport(0, "GPU-00a79cbc-6356-7dac-00e7-e799b0205aa2", "NVIDIA H200", 143771, 0, 0, 46, 82.55, 0),
            gpu);
    }

    [Fact]
    public void Parse_H100Output_ReturnsEightGpus()
    {
        var gpus = NvidiaSmiParser.Parse(Fixtures.Read(Fixtures.H100Csv));

        Assert.Equal(8, gpus.Count);
        Assert.Equal(Enumerable.Range(0, 8), gpus.Select(g => g.Index));
        Assert.All(gpus, g => Assert.Equal("NVIDIA H100 80GB HBM3", g.Name));
        Assert.All(gpus, g => Assert.Equal(81559, g.MemoryTotalMiB));
        Assert.All(gpus, g => Assert.Matches("^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", g.Uuid));
        Assert.Equal(8, gpus.Select(g => g.Uuid).Distinct().Count());
        Assert.Null(gpus[6].EccUncorrected);
        Assert.Equal(0, gpus[5].EccUncorrected);
        Assert.Equal(641.19, gpus[5].PowerWatts);
    }

    [Theory]
    [InlineData("[N/A]")]
    [InlineData("N/A")]
    [InlineData("[Not Supported]")]
    [InlineData("[Unknown Error]")]
    public void Parse_UnavailableValues_AreNull(string unavailable)
    {
        var line = $"2, GPU-1, NVIDIA H100 80GB HBM3, {unavailable}, {unavailable}, {unavailable}, {unavailable}, {unavailable}, {unavailable}";

        var gpu = Assert.Single(NvidiaSmiParser.Parse(line));

        Assert.Equal(new GpuReport(2, "GPU-1", "NVIDIA H100 80GB HBM3", null, null, null, null, null, null), gpu);
    }

    [Fact]
    public void Parse_BlankLinesAndCrlf_AreIgnored()
    {
        var output = "\r\n0, GPU-a, NVIDIA H200, 143771, 10, 5, 40, 100.5, 0\r\n\r\n   \r\n1, GPU-b, NVIDIA H200, 143771, 20, 6, 41, 101, 1\r\n";

        var gpus = NvidiaSmiParser.Parse(output);

        Assert.Equal(["GPU-a", "GPU-b"], gpus.Select(g => g.Uuid));
        Assert.Equal([100.5, 101.0], gpus.Select(g => g.PowerWatts));
        Assert.Equal([0L, 1L], gpus.Select(g => g.EccUncorrected));
    }

    [Fact]
    public void Parse_EmptyOutput_ReturnsNoGpus()
    {
        Assert.Empty(NvidiaSmiParser.Parse(""));
        Assert.Empty(NvidiaSmiParser.Parse("\n\n"));
    }

    [Fact]
    public void Parse_GarbageLine_ThrowsNamingTheLine()
    {
        var output = "0, GPU-a, NVIDIA H200, 143771, 0, 0, 46, 82.55, 0\nNo devices were found\n";

        var error = Assert.Throws<FormatException>(() => NvidiaSmiParser.Parse(output));

        Assert.Equal(
            "line 2 'No devices were found': expected 9 comma-separated fields (index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu,power.draw,ecc.errors.uncorrected.volatile.total), found 1",
            error.Message);
    }

    [Fact]
    public void Parse_NonNumericValue_ThrowsNamingTheColumn()
    {
        var error = Assert.Throws<FormatException>(() => NvidiaSmiParser.Parse("0, GPU-a, NVIDIA H200, 143771 MiB, 0, 0, 46, 82.55, 0"));

        Assert.Contains("line 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("memory.total '143771 MiB' is not a whole number", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HeaderLine_ThrowsNamingTheIndex()
    {
        var error = Assert.Throws<FormatException>(() => NvidiaSmiParser.Parse(
            "index, uuid, name, memory.total [MiB], memory.used [MiB], utilization.gpu [%], temperature.gpu, power.draw [W], ecc.errors.uncorrected.volatile.total"));

        Assert.Contains("index 'index' is not a number", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MissingUuid_Throws()
    {
        var error = Assert.Throws<FormatException>(() => NvidiaSmiParser.Parse("0, [N/A], NVIDIA H200, 143771, 0, 0, 46, 82.55, 0"));

        Assert.Contains("uuid and name must be present", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NameWithComma_KeepsTheWholeName()
    {
        var gpu = Assert.Single(NvidiaSmiParser.Parse("0, GPU-a, Vendor GPU, Rev 2, 1024, 0, 0, 30, 50, 0"));

        Assert.Equal("Vendor GPU, Rev 2", gpu.Name);
        Assert.Equal(1024, gpu.MemoryTotalMiB);
    }
}
