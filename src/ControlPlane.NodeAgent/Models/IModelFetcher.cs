using System.ComponentModel;
using ControlPlane.NodeAgent.Replicas;

namespace ControlPlane.NodeAgent.Models;

/// <summary>Copies one model's weights into the cache: the part of prefetching that differs between a real node and a pretend one.</summary>
internal interface IModelFetcher
{
    /// <summary>Fetches <paramref name="model"/> into <paramref name="directory"/>; returns null when done, else what went wrong.</summary>
    /// <exception cref="OperationCanceledException">The agent is stopping.</exception>
    Task<string?> FetchAsync(string model, string directory, CancellationToken cancellationToken);

    /// <summary>One line for the agent's start-up log.</summary>
    string Describe();
}

/// <summary>
/// <c>--prefetch-command CMD</c>: runs the command through <c>/bin/sh -c</c> with the model in
/// <see cref="ModelVariable"/> and the directory to fill in <see cref="DirectoryVariable"/> (never spliced into the
/// command); exit code 0 means the weights are complete.
/// </summary>
internal sealed class CommandModelFetcher(string command) : IModelFetcher
{
    public const string ModelVariable = "CONTROLPLANE_MODEL";
    public const string DirectoryVariable = "CONTROLPLANE_MODEL_CACHE_DIR";

    public async Task<string?> FetchAsync(string model, string directory, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ModelVariable] = model,
            [DirectoryVariable] = directory,
        };
        try
        {
            var exitCode = await ShellCommand.RunAsync(command, environment, discardOutput: false, cancellationToken);
            return exitCode == 0 ? null : $"prefetch command exited with code {exitCode}";
        }
        catch (Win32Exception e)
        {
            return $"cannot run the prefetch command: {e.Message}";
        }
    }

    public string Describe() => $"command ({command})";
}

/// <summary><c>--runtime simulated</c>: a prefetch copies nothing and is done after <paramref name="fetchTime"/>.</summary>
internal sealed class SimulatedModelFetcher(TimeSpan fetchTime, TimeProvider time) : IModelFetcher
{
    public const int DefaultSeconds = 10;

    public async Task<string?> FetchAsync(string model, string directory, CancellationToken cancellationToken)
    {
        if (fetchTime > TimeSpan.Zero)
        {
            await Task.Delay(fetchTime, time, cancellationToken);
        }

        return null;
    }

    public string Describe() => $"simulated (a prefetch is done {fetchTime.TotalSeconds:0.###} s after the server asks for it)";
}
