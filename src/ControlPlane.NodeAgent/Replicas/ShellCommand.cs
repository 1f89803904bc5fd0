using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using ControlPlane.NodeAgent.Cli;

namespace ControlPlane.NodeAgent.Replicas;

/// <summary>
/// Runs operator-given commands through <c>/bin/sh -c</c>, as a unit file or a container's command line would,
/// and signals what they started.
/// </summary>
internal static class ShellCommand
{
    public const string Shell = "/bin/sh";

    // How long the shell that sends a signal may take; it only runs the kill builtin.
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// util-linux <c>setsid</c>, when the machine has it: a replica started through it leads its own process
    /// group, so that a stop reaches every process it started, not only the shell.
    /// </summary>
    private static readonly string? Setsid = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);

    /// <summary>Whether <see cref="Start"/> can give a command a process group of its own.</summary>
    public static bool HasProcessGroups => Setsid is not null;

    /// <summary>Starts <paramref name="command"/> with <paramref name="environment"/> added to the agent's own, minus its token.</summary>
    /// <param name="ownProcessGroup">Start it in a new session, leading its own process group (when <see cref="HasProcessGroups"/>).</param>
    /// <param name="discardOutput">Send its output to /dev/null instead of the agent's log.</param>
    /// <exception cref="Win32Exception">The shell could not be started.</exception>
    public static Process Start(string command, IReadOnlyDictionary<string, string> environment, bool ownProcessGroup, bool discardOutput)
    {
        // Pipes would have to be drained, and one a grandchild keeps open would hold up the reader; the shell
        // can drop the output itself.
        var script = discardOutput ? $"exec >/dev/null 2>&1\n{command}" : command;
        var startInfo = new ProcessStartInfo(ownProcessGroup && Setsid is not null ? Setsid : Shell) { UseShellExecute = false };
        if (ownProcessGroup && Setsid is not null)
        {
            startInfo.ArgumentList.Add(Shell);
        }

        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(script);

        // The node token is the agent's secret; an engine that runs third-party model code has no use for it.
        startInfo.Environment.Remove(AgentOptions.TokenVariable);
        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
            return process;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="command"/> to its end and returns its exit code.</summary>
    /// <exception cref="OperationCanceledException">Cancelled; the command and its children have been killed.</exception>
    /// <exception cref="Win32Exception">The shell could not be started.</exception>
    public static async Task<int> RunAsync(
        string command, IReadOnlyDictionary<string, string> environment, bool discardOutput, CancellationToken cancellationToken)
    {
        using var process = Start(command, environment, ownProcessGroup: false, discardOutput);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
            return process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            KillTree(process);
            throw;
        }
    }

    /// <summary>Sends <paramref name="signal"/> (e.g. <c>TERM</c>) to a process, or to the process group it leads.</summary>
    public static async Task SignalAsync(int pid, bool processGroup, string signal)
    {
        var target = (processGroup ? -pid : pid).ToString(CultureInfo.InvariantCulture);
        try
        {
            // .NET can only SIGKILL; the shell's kill builtin sends any signal, to a group too.
            using var kill = Start($"kill -s {signal} -- {target} 2>/dev/null", new Dictionary<string, string>(), ownProcessGroup: false, discardOutput: false);
            await kill.WaitForExitAsync().WaitAsync(SignalTimeout);
        }
        catch (Exception e) when (e is Win32Exception or TimeoutException)
        {
            // The kill that follows a stop timeout still ends the process.
        }
    }

    /// <summary>Whether a live process (not a zombie) is left in the process group <paramref name="processGroup"/>.</summary>
    /// <remarks>
    /// Read from /proc rather than asked with <c>kill -0</c>, which counts zombies: where the agent is PID 1 (a
    /// container), the orphans of a replica become its children, and .NET reaps only the children it started.
    /// </remarks>
    public static bool ProcessGroupIsAlive(int processGroup)
    {
        IEnumerable<string> processes;
        try
        {
            processes = Directory.EnumerateDirectories("/proc");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        foreach (var directory in processes)
        {
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Not a process, or one that has just ended.
                continue;
            }

            // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so fields count from the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 1)..].Split(' ', 5, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 3 && fields[0] != "Z"
                && int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var group) && group == processGroup)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>SIGKILL to a process and every child it has, whether or not it leads a process group.</summary>
    public static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception)
        {
            // Already gone.
        }
    }
}
