using System.Diagnostics;
using System.Text;

namespace ControlPlane.Testing;

/// <summary>Runs the helper commands that the test servers need, keeping their output for error messages.</summary>
internal static class ChildProcess
{
    /// <summary>Whether this process runs as root, where PostgreSQL refuses to run and must be run as <c>postgres</c>.</summary>
    public static bool IsRoot => Environment.IsPrivilegedProcess;

    /// <summary>
    /// A start-info for <paramref name="fileName"/>; as root, wrapped in <c>runuser -u postgres --</c> when
    /// <paramref name="asPostgres"/> is set.
    /// </summary>
    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, bool asPostgres)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };

        if (asPostgres && IsRoot)
        {
            info.FileName = "runuser";
            foreach (var a in (string[])["-u", "postgres", "--", fileName])
            {
                info.ArgumentList.Add(a);
            }
        }
        else
        {
            info.FileName = fileName;
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }

    /// <summary>Runs a command to completion; throws with its output when it fails.</summary>
    public static async Task<string> RunAsync(
        string fileName, IEnumerable<string> arguments, bool asPostgres, TimeSpan timeout)
    {
        var info = StartInfo(fileName, arguments, asPostgres);
        using var process = Process.Start(info)
            ?? throw new InvalidOperationException($"Could not start {fileName}.");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Describe(info)} did not finish within {timeout.TotalSeconds:F0} s.");
        }

        var output = (await stdout) + (await stderr);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Describe(info)} exited with code {process.ExitCode}:{Environment.NewLine}{Tail(output)}");
        }

        return output;
    }

    public static string Describe(ProcessStartInfo info) =>
        string.Join(' ', [info.FileName, .. info.ArgumentList]);

    /// <summary>The last lines of a log, for an error message.</summary>
    public static string Tail(string text, int lines = 40)
    {
        var all = text.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        return string.Join(Environment.NewLine, all.Skip(Math.Max(0, all.Length - lines)));
    }
}

/// <summary>Keeps the last lines a long-running child process printed.</summary>
internal sealed class OutputTail(int capacity = 200)
{
    private readonly Queue<string> _lines = new();

    public void Attach(Process process)
    {
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lines)
        {
            _lines.Enqueue(line);
            while (_lines.Count > capacity)
            {
                _lines.Dequeue();
            }
        }
    }

    public override string ToString()
    {
        lock (_lines)
        {
            var text = new StringBuilder();
            foreach (var line in _lines)
            {
                text.AppendLine(line);
            }

            return text.ToString();
        }
    }
}
