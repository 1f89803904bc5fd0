using System.CommandLine;
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

    /// <summary><c>load-heartbeats</c>: heartbeats/s through HTTP, and memory per node, on a running control plane.</summary>
    public static OptionsCommand CreateCommand(Func<string, string?> getEnvironmentVariable)
    {
        var access = new ControlPlaneAccess(getEnvironmentVariable);
        var nodes = SimulatorCli.Int("--nodes", "N", "nodes to enroll (the default holds 10,004 GPUs; 13,637 hold 100,000)", DefaultNodes, 1, MaxNodes);
        var seconds = SimulatorCli.Int("--seconds", "S", "length of each measured phase", DefaultSeconds, 1, 3_600);
        var concurrency = SimulatorCli.Int("--concurrency", "N", "requests in flight (at most one per node)", DefaultConcurrency, 1, MaxConcurrency);
        var rounds = SimulatorCli.Int("--rounds", "N", "how often the baseline and the heartbeat phase alternate", DefaultRounds, 1, 100);
        var warmup = SimulatorCli.Int("--warmup-seconds", "S", "unmeasured warm-up of each endpoint first", DefaultWarmupSeconds, 0, 600);
        var command = new OptionsCommand(
            "load-heartbeats",
            """
            Benchmark heartbeats against a server started with Diagnostics__LoadBaselines=true: enroll a fleet, print the
            memory the server holds for it (per node, per GPU), then heartbeats/s through HTTP against a bare endpoint that
            calls one grain.
            """,
            parse => access.Resolve("load-heartbeats", parse, out var server, out var token) is { } why
                ? (null, why)
                : (SimulatorOptions.ForCommand(SimulatorCommand.LoadHeartbeats, server, token) with
                {
                    Heartbeats = new LoadHeartbeatsOptions(parse.GetValue(nodes), parse.GetValue(seconds), parse.GetValue(concurrency), parse.GetValue(rounds), parse.GetValue(warmup)),
                }, null))
        {
            access.Server, access.Token, nodes, seconds, concurrency, rounds, warmup,
        };
        return command;
    }
}
