using System.Globalization;

namespace ControlPlane.NodeAgent.Tests.Support;

/// <summary>What /proc says of a process, for tests that check that nothing is left running.</summary>
internal static class ProcessState
{
    /// <summary>Whether the process exists and is not a zombie (a dead child nobody has reaped yet).</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            // "pid (comm) S ...": the state follows the last ')', as comm may hold spaces and parentheses. A process that is
        // gone has no directory (or loses it while being read).
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Waits for a test's script to write a pid (one line) to <paramref name="path"/>, and reads it.</summary>
    public static async Task<int> ReadPidAsync(string path)
    {
        int? pid = null;
        await Poll.UntilAsync(() => (pid = ReadPid(path)) is not null, $"a pid in {path}");
        return pid!.Value;
    }

    private static int? ReadPid(string path) =>
        File.Exists(path) && File.ReadAllText(path) is var text && text.EndsWith('\n')
            && int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            ? pid
            : null;
}
