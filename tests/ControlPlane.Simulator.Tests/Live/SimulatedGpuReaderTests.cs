using ControlPlane.Simulator.Fleet;
using ControlPlane.Simulator.Live;

namespace ControlPlane.Simulator.Tests.Live;

public sealed class SimulatedGpuReaderTests
{
    [Fact]
    public void Next_SameSeed_SameReadings()
    {
        var a = new SimulatedGpuReader(GpuModel.H100, 8, seed: 42);
        var b = new SimulatedGpuReader(GpuModel.H100, 8, seed: 42);

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(a.Next().Gpus, b.Next().Gpus);
        }
    }

    [Fact]
    public void Next_OtherSeed_OtherGpus()
    {
        var a = new SimulatedGpuReader(GpuModel.H100, 8, seed: 1).Next().Gpus;
        var b = new SimulatedGpuReader(GpuModel.H100, 8, seed: 2).Next().Gpus;

        Assert.Empty(a.Select(g => g.Uuid).Intersect(b.Select(g => g.Uuid)));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Next_ManyReads_StayInRange(string model)
    {
        var gpu = ModelNamed(model);
        var reader = new SimulatedGpuReader(gpu, 8, seed: 7);

        for (var i = 0; i < 500; i++)
        {
            var reading = reader.Next();
            Assert.Null(reading.Error);
            Assert.Equal(8, reading.Gpus.Count);
            foreach (var g in reading.Gpus)
            {
                Assert.InRange(g.UtilizationPercent, 0, 100);
                Assert.InRange(g.MemoryUsedMiB, 0, g.MemoryTotalMiB);
                Assert.InRange(g.TemperatureC, 20, 95);
                Assert.InRange(g.PowerWatts, gpu.IdleWatts, gpu.MaxWatts);
            }
        }
    }

    [Fact]
    public void Next_ManyReads_LoadMoves()
    {
        var reader = new SimulatedGpuReader(GpuModel.H200, 8, seed: 3);

        var utilizations = Enumerable.Range(0, 100).SelectMany(_ => reader.Next().Gpus.Select(g => g.UtilizationPercent)).ToHashSet();

        Assert.True(utilizations.Count > 20, $"only {utilizations.Count} distinct utilizations");
    }

    [Fact]
    public void Next_ManyReads_IdentityStable()
    {
        var reader = new SimulatedGpuReader(GpuModel.L40S, 4, seed: 5);
        var first = reader.Next().Gpus.Select(g => (g.Index, g.Uuid, g.Name, g.MemoryTotalMiB)).ToArray();

        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(first, reader.Next().Gpus.Select(g => (g.Index, g.Uuid, g.Name, g.MemoryTotalMiB)));
        }

        Assert.Equal([0, 1, 2, 3], first.Select(g => g.Index));
        Assert.Equal(4, first.Select(g => g.Uuid).Distinct().Count());
        Assert.All(first, g => Assert.Matches("^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", g.Uuid));
        Assert.All(first, g => Assert.Equal(("NVIDIA L40S", 46068L), (g.Name, g.MemoryTotalMiB)));
    }

    [Fact]
    public void Next_Failing_ReturnsErrorUntilRecovered()
    {
        var reader = new SimulatedGpuReader(GpuModel.H100, 8, seed: 9);
        var before = reader.Next();

        reader.Fail();
        var failed = reader.Next();
        reader.Recover();
        var after = reader.Next();

        Assert.Null(before.Error);
        Assert.Equal(SimulatedGpuReader.DriverFailure, failed.Error);
        Assert.Empty(failed.Gpus);
        Assert.Null(after.Error);
        Assert.Equal(before.Gpus.Select(g => g.Uuid), after.Gpus.Select(g => g.Uuid));
    }

    [Fact]
    public void Fail_CustomError_IsReported()
    {
        var reader = new SimulatedGpuReader(GpuModel.H100, 1, seed: 9);

        reader.Fail("nvidia-smi did not answer within 10 s");

        Assert.True(reader.IsFailing);
        Assert.Equal("nvidia-smi did not answer within 10 s", reader.Next().Error);
    }

    public static TheoryData<string> Models() => new(GpuModel.H100.Name, GpuModel.H200.Name, GpuModel.L40S.Name);

    private static GpuModel ModelNamed(string name) =>
        new[] { GpuModel.H100, GpuModel.H200, GpuModel.L40S }.Single(m => m.Name == name);
}
