using ControlPlane.NodeAgent.Gpus;
using ControlPlane.NodeAgent.Tests.Support;

namespace ControlPlane.NodeAgent.Tests.Gpus;

[Collection(ProcessCollection.Name)]
public sealed class NvidiaSmiReaderTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task ReadAsync_FakeNvidiaSmi_ReturnsTheH100Gpus()
    {
        var reader = new NvidiaSmiReader(Fixtures.FakeNvidiaSmi, Timeout);

        var reading = await reader.ReadAsync(TestContext.Current.CancellationToken);

        Assert.Null(reading.Error);
        Assert.Equal(NvidiaSmiParser.Parse(Fixtures.Read(Fixtures.H100Csv)), reading.Gpus);
        Assert.Equal(8, reading.Gpus.Count);
    }

    [Fact]
    public async Task ReadAsync_OutputChosenByEnvironment_ReturnsThoseGpus()
    {
        var script = _scratch.WriteFakeNvidiaSmi("h200-smi", ("FAKE_NVIDIA_SMI_OUTPUT", Fixtures.H200Csv));
        var reader = new NvidiaSmiReader(script, Timeout);

        var reading = await reader.ReadAsync(TestContext.Current.CancellationToken);

        Assert.Null(reading.Error);
        Assert.Equal(
            new GpuReport(0, "GPU-00a79cbc-6356-7dac-00e7-e799b0205aa2", "NVIDIA H200", 143771, 0, 0, 46, 82.55, 0),
            Assert.Single(reading.Gpus));
    }

    [Fact]
    public async Task ReadAsync_MissingExecutable_SaysWhereItLooked()
    {
        var missing = Path.Combine(_scratch.Path, "no-such-nvidia-smi");
        var reader = new NvidiaSmiReader(missing, Timeout);

        var reading = await reader.ReadAsync(TestContext.Current.CancellationToken);

        Assert.Empty(reading.Gpus);
        Assert.Equal($"nvidia-smi not found at '{missing}'; fix --nvidia-smi PATH", reading.Error);
    }

    [Fact]
    public async Task ReadAsync_NotOnPath_SaysToPassThePath()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, "nvidia-smi")));
        Assert.SkipWhen(onPath, "this machine has nvidia-smi on PATH");
        var reader = new NvidiaSmiReader(executablePath: null, Timeout);

        var reading = await reader.ReadAsync(TestContext.Current.CancellationToken);

        Assert.Equal("nvidia-smi not found on PATH; install the NVIDIA driver or pass --nvidia-smi PATH", reading.Error);
    }

    [Fact]
    public async Task ReadAsync_NotExecutable_SaysPermissionDenied()
    {
        var file = _scratch.WriteFile("nvidia-smi", "#!/usr/bin/env bash\n");
        var reader = new NvidiaSmiReader(file, Timeout);

        var reading = await reader.ReadAsync(TestContext.Current.CancellationToken);

        Assert.StartsWith($"cannot run nvidia-smi '{file}': permission denied", reading.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_NonZeroExit_ReportsCodeAndMessage()
    {
        var script = _scratch.WriteFakeNvidiaSmi("failing-smi", ("FAKE_NVIDIA_SMI_FAIL", "1"));
        var reader = new NvidiaSmiReader(script, Timeout);

        var reading = await reader.ReadAsync(TestContext.Current.CancellationToken);

        Assert.Empty(reading.Gpus);
        Assert.StartsWith(
            $"nvidia-smi '{script}' exited with code 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
            reading.Error,
            StringComparison.Ordinal);
        Assert.EndsWith("check that the NVIDIA driver is loaded (run nvidia-smi by hand)", reading.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_UnparsableOutput_ReportsTheLine()
    {
        var output = _scratch.WriteFile("garbage.csv", "0, GPU-a, NVIDIA H200, 143771, 0, 0, 46, 82.55, 0\nSegmentation fault\n");
        var script = _scratch.WriteFakeNvidiaSmi("garbage-smi", ("FAKE_NVIDIA_SMI_OUTPUT", output));
        var reader = new NvidiaSmiReader(script, Timeout);

        var reading = await reader.ReadAsync(TestContext.Current.CancellationToken);

        Assert.Empty(reading.Gpus);
        Assert.StartsWith($"nvidia-smi '{script}' output not understood: line 2 'Segmentation fault'", reading.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_Hangs_TimesOutAndKillsIt()
    {
        var script = _scratch.WriteFakeNvidiaSmi("hanging-smi", ("FAKE_NVIDIA_SMI_SLEEP", "60"));
        var reader = new NvidiaSmiReader(script, TimeSpan.FromMilliseconds(300));

        var reading = await reader.ReadAsync(TestContext.Current.CancellationToken).WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);

        Assert.Empty(reading.Gpus);
        Assert.Equal(
            $"nvidia-smi '{script}' did not answer within 0.3 s and was killed; the GPU driver may be hung (run nvidia-smi by hand, check dmesg)",
            reading.Error);
    }

    [Fact]
    public async Task ReadAsync_CancelledWhileRunning_Throws()
    {
        var script = _scratch.WriteFakeNvidiaSmi("hanging-smi", ("FAKE_NVIDIA_SMI_SLEEP", "60"));
        var reader = new NvidiaSmiReader(script, TimeSpan.FromMinutes(5));
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cancellation.CancelAfter(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader.ReadAsync(cancellation.Token).WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken));
    }
}
