using System.ComponentModel;
using System.Diagnostics;

namespace ControlPlane.NodeAgent.Gpus;

/// <summary>Runs nvidia-smi once per read, with a timeout, and parses what it prints.</summary>
/// <param name="executablePath">nvidia-smi to run; <see langword="null"/> finds <c>nvidia-smi</c> on PATH.</param>
/// <param name="timeout">How long nvidia-smi may take; a hung driver can block it forever.</param>
internal sealed class NvidiaSmiReader(string? executablePath, TimeSpan timeout) : IGpuReader
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private const int NoSuchFile = 2;
    private const int PermissionDenied = 13;

    public async Task<GpuReading> ReadAsync(CancellationToken cancellationToken)
    {
        using var process = new Process
        {
            StartInfo = new ProcessStartInfo(executablePath ?? "nvidia-smi")
            {
                ArgumentList = { $"--query-gpu={NvidiaSmiParser.QueryColumns}", "--format=csv,noheader,nounits" },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            },
        };

        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            return GpuReading.Failure(DescribeStartFailure(e));
        }

        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
            await Task.WhenAll(stdout, stderr).WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            // A wrapper script's children would otherwise keep running, and keep our pipes open.
            Replicas.ShellCommand.KillTree(process);
            Task drained = Task.WhenAll(stdout, stderr);
            await drained.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cancellationToken.ThrowIfCancellationRequested();
            return GpuReading.Failure(
                $"{Describe()} did not answer within {timeout.TotalSeconds:0.###} s and was killed; the GPU driver may be hung (run nvidia-smi by hand, check dmesg)");
        }

        if (process.ExitCode != 0)
        {
            // nvidia-smi prints its own failures ("couldn't communicate with the NVIDIA driver") on stdout.
            var said = FirstLine(await stderr) ?? FirstLine(await stdout) ?? "no output";
            return GpuReading.Failure(
                $"{Describe()} exited with code {process.ExitCode}: {said}; check that the NVIDIA driver is loaded (run nvidia-smi by hand)");
        }

        try
        {
            return GpuReading.Success(NvidiaSmiParser.Parse(await stdout));
        }
        catch (FormatException e)
        {
            return GpuReading.Failure($"{Describe()} output not understood: {e.Message}; is it an NVIDIA nvidia-smi?");
        }
    }

    private string Describe() => executablePath is null ? "nvidia-smi" : $"nvidia-smi '{executablePath}'";

    private string DescribeStartFailure(Win32Exception e) => (e.NativeErrorCode, executablePath) switch
    {
        (NoSuchFile, null) => "nvidia-smi not found on PATH; install the NVIDIA driver or pass --nvidia-smi PATH",
        (NoSuchFile, _) => $"nvidia-smi not found at '{executablePath}'; fix --nvidia-smi PATH",
        (PermissionDenied, _) => $"cannot run {Describe()}: permission denied; make it executable or pass another --nvidia-smi PATH",
        _ => $"cannot run {Describe()}: {e.Message}",
    };

    private static string? FirstLine(string text) =>
        text.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
}
