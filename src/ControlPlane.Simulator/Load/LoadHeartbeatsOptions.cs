using System.Diagnostics.CodeAnalysis;
using ControlPlane.Simulator.Cli;

namespace ControlPlane.Simulator.Load;

/// <summary>What <c>load-heartbeats</c> was told, beyond the server and token.</summary>
/// <param name="Nodes">Simulated nodes to enroll and heartbeat for (the fleet's size for the memory figures).</param>
/// <param name="Seconds">How long each measured phase runs.</param>
/// <param name="Concurrency">Requests in flight at once.</param>
/// <param name="Rounds">How many times the baseline and the heartbeat phase alternate.</param>
/// <param name="WarmupSeconds">How long each endpoint is warmed up, unmeasured, before the first round.</param>
internal sealed record LoadHeartbeatsOptions(int Nodes, int Seconds, int Concurrency, int Rounds, int WarmupSeconds)
{
    /// <summary>1,364 nodes of the simulated fleet's mix hold 10,004 GPUs.</summary>
    public const int DefaultNodes = 1_364;

    public const int MaxNodes = 50_000;
    public const int DefaultSeconds = 20;
    public const int DefaultConcurrency = 32;
    public const int MaxConcurrency = 256;
    public const int DefaultRounds = 2;
    public const int DefaultWarmupSeconds = 5;

    /// <summary>The options only <c>load-heartbeats</c> takes.</summary>
    public static readonly HashSet<string> Names = ["--rounds", "--warmup-seconds"];

    private static readonly HashSet<string> Allowed = [.. Names, "--server", "--token", "--nodes", "--seconds", "--concurrency"];

    /// <summary>Parses <c>load-heartbeats</c>' arguments (<paramref name="args"/>[0] is the command).</summary>
    public static bool TryParse(
        IReadOnlyList<string> args,
        Func<string, string?> getEnvironmentVariable,
        [NotNullWhen(true)] out SimulatorOptions? options,
        [NotNullWhen(false)] out string? error)
    {
        options = null;
        if (!SimulatorOptions.TryCollect(args, Allowed.Contains, name => name.StartsWith("--", StringComparison.Ordinal) ? $"{name} is not an option of load-heartbeats" : null, out var values, out error))
        {
            return false;
        }

        Uri? server = null;
        string? token = null;
        int nodes = DefaultNodes, seconds = DefaultSeconds, concurrency = DefaultConcurrency, rounds = DefaultRounds, warmup = DefaultWarmupSeconds;
        error = SimulatorOptions.ParseInt(values, "--nodes", 1, MaxNodes, ref nodes)
            ?? SimulatorOptions.ParseInt(values, "--seconds", 1, 3_600, ref seconds)
            ?? SimulatorOptions.ParseInt(values, "--concurrency", 1, MaxConcurrency, ref concurrency)
            ?? SimulatorOptions.ParseInt(values, "--rounds", 1, 100, ref rounds)
            ?? SimulatorOptions.ParseInt(values, "--warmup-seconds", 0, 600, ref warmup)
            ?? SimulatorOptions.ParseServer("load-heartbeats", values, getEnvironmentVariable, out server, out token);
        if (error is not null)
        {
            return false;
        }

        options = SimulatorOptions.ForCommand(SimulatorCommand.LoadHeartbeats, server, token) with
        {
            Heartbeats = new LoadHeartbeatsOptions(nodes, seconds, concurrency, rounds, warmup),
        };
        return true;
    }
}
