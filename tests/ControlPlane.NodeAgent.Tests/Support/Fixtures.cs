namespace ControlPlane.NodeAgent.Tests.Support;

/// <summary>Paths of the nvidia-smi fixtures copied into the test output folder.</summary>
internal static class Fixtures
{
    public static string NvidiaSmiDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "fixtures", "nvidia-smi");

    public static string H200Csv { get; } = Path.Combine(NvidiaSmiDirectory, "h200", "query-gpu-nounits.csv");

    public static string H100Csv { get; } = Path.Combine(NvidiaSmiDirectory, "h100", "query-gpu-nounits.csv");

    /// <summary>The fake nvidia-smi, made executable: a copy or a checkout does not always keep the bit.</summary>
    public static string FakeNvidiaSmi { get; } = MakeExecutable(Path.Combine(NvidiaSmiDirectory, "fake-nvidia-smi.sh"));

    public static string Read(string path) => File.ReadAllText(path);

    public static string MakeExecutable(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return path;
        }

        File.SetUnixFileMode(
            path,
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return path;
    }
}
