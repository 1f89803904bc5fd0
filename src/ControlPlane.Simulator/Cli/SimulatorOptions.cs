using System.CommandLine;
using ControlPlane.Simulator.Live;
using ControlPlane.Simulator.Load;
using ControlPlane.Simulator.Simulation;

namespace ControlPlane.Simulator.Cli;

internal enum SimulatorCommand
{
    /// <summary>Start the control plane as a child process, then run the simulated fleet against it.</summary>
    Demo,

    /// <summary>Run the simulated fleet against a control plane that is already running.</summary>
    Live,

    /// <summary>Send usage batches to a running control plane as fast as it takes them, and measure.</summary>
    LoadUsage,

    /// <summary>Heartbeats/s through HTTP against a bare endpoint, and memory per node, on a running control plane.</summary>
    LoadHeartbeats,

    /// <summary>Floods a running control plane from one token (or address) and measures what other callers see.</summary>
    LoadFlood,

    /// <summary>Run a fleet file and traffic traces through the discrete-event simulator, in virtual time.</summary>
    Simulate,
}

/// <summary>What the simulator was told on its command line.</summary>
/// <param name="Command">What to run.</param>
/// <param name="Nodes">How many simulated nodes to enroll and run.</param>
/// <param name="ChaosSeconds">How often a node crashes; 0 turns chaos off.</param>
/// <param name="Seconds">How long to run; 0 runs until Ctrl+C.</param>
/// <param name="Seed">Seed of the simulated GPU readings.</param>
/// <param name="Port">HTTP port of the control plane that <c>demo</c> starts.</param>
/// <param name="DataDirectory">The data directory of the control plane that <c>demo</c> starts (where its operator token is kept).</param>
/// <param name="Server">Base address of the running control plane (<c>live</c>; ends with '/').</param>
/// <param name="Token">Operator token of the running control plane (<c>live</c>).</param>
internal sealed record SimulatorOptions(
    SimulatorCommand Command,
    int Nodes,
    int ChaosSeconds,
    int Seconds,
    int Seed,
    int Port,
    string DataDirectory,
    Uri? Server,
    string? Token)
{
    public const int DefaultNodes = 6;
    public const int DefaultChaosSeconds = 45;
    public const int DefaultPort = 5000;
    public const int DefaultSeed = 1;
    public const string DefaultDataDirectory = ".controlplane";
    public const int MaxNodes = 500;
    public const int MinChaosSeconds = 5;
    public const string ServerVariable = "CONTROLPLANE_SERVER";
    public const string TokenVariable = "CONTROLPLANE_OPERATOR_TOKEN";

    /// <summary>The trace the gateway of <c>demo</c> and <c>live</c> replays; null: the one shipped next to the simulator.</summary>
    public string? TracePath { get; init; }

    /// <summary>Whether <c>live</c> runs the simulated gateway (<c>demo</c> always does); false with <c>--no-traffic</c>.</summary>
    public bool Traffic { get; init; } = true;

    /// <summary>What <c>load-usage</c> measures (null for the other commands).</summary>
    public LoadUsageOptions? Load { get; init; }

    /// <summary>What <c>load-heartbeats</c> measures (null for the other commands).</summary>
    public LoadHeartbeatsOptions? Heartbeats { get; init; }

    /// <summary>What <c>load-flood</c> measures (null for the other commands).</summary>
    public LoadFloodOptions? Flood { get; init; }

    /// <summary>What <c>simulate</c> runs (null for the other commands).</summary>
    public SimulateOptions? Simulate { get; init; }

    /// <summary>Options of a command that takes none of the fleet's (<c>load-usage</c>, <c>load-heartbeats</c>, <c>simulate</c>): the fleet's defaults.</summary>
    internal static SimulatorOptions ForCommand(SimulatorCommand command, Uri? server = null, string? token = null, int seed = DefaultSeed) =>
        new(command, DefaultNodes, DefaultChaosSeconds, 0, seed, DefaultPort, DefaultDataDirectory, server, token);

    /// <summary><c>demo</c>: the control plane as a child process, and the simulated fleet and gateway against it.</summary>
    public static OptionsCommand CreateDemoCommand()
    {
        var fleet = new FleetOptions();
        var port = SimulatorCli.Int("--port", "PORT", "HTTP port of the control plane", DefaultPort, 1, 65_535);
        var dataDirectory = SimulatorCli.Text("--data-dir", "DIR", "the control plane's data directory, where it keeps its operator token");
        dataDirectory.DefaultValueFactory = _ => DefaultDataDirectory;
        var command = new OptionsCommand(
            "demo",
            """
            Start the control plane (embedded: one silo, state in memory) as a child process, enroll simulated GPU nodes and
            run a real node agent loop for each, with chaos; a simulated gateway replays a request trace as demand for three
            deployments and meters a dedicated one's requests against a contract whose balance it prints.
            """,
            parse => (fleet.Bind(parse, SimulatorCommand.Demo, parse.GetValue(port), parse.GetValue(dataDirectory)!, null, null), null));
        fleet.AddTo(command);
        command.Options.Add(port);
        command.Options.Add(dataDirectory);
        return command;
    }

    /// <summary><c>live</c>: the simulated fleet and gateway against a control plane that already runs.</summary>
    public static OptionsCommand CreateLiveCommand(Func<string, string?> getEnvironmentVariable)
    {
        var fleet = new FleetOptions();
        var access = new ControlPlaneAccess(getEnvironmentVariable);
        var noTraffic = new Option<bool>("--no-traffic") { Description = "run the fleet only, no gateway (no deployments, demand, usage or contract)" };
        var command = new OptionsCommand(
            "live",
            "The same fleet and gateway as demo, against a control plane that is already running.",
            parse => access.Resolve("live", parse, out var server, out var token) is { } why
                ? (null, why)
                : (fleet.Bind(parse, SimulatorCommand.Live, DefaultPort, DefaultDataDirectory, server, token) with { Traffic = !parse.GetValue(noTraffic) }, null))
        {
            access.Server, access.Token,
        };
        fleet.AddTo(command);
        command.Options.Add(noTraffic);
        return command;
    }

    /// <summary>The options <c>demo</c> and <c>live</c> share: the simulated fleet's and the gateway's trace.</summary>
    private sealed class FleetOptions
    {
        private readonly Option<int> _nodes = SimulatorCli.Int("--nodes", "N", "simulated nodes", DefaultNodes, 1, MaxNodes);

        private readonly Option<int> _chaosSeconds = SimulatorCli.Int(
            "--chaos-seconds",
            "S",
            $"every S seconds a node crashes and comes back 2 x S later; once, one node's nvidia-smi fails for S seconds (0: off, else at least {MinChaosSeconds})",
            DefaultChaosSeconds,
            0,
            86_400,
            s => s is > 0 and < MinChaosSeconds ? $"--chaos-seconds must be 0 (off) or at least {MinChaosSeconds}, got {s}" : null);

        private readonly Option<int> _seconds = SimulatorCli.Int("--seconds", "S", "stop after S seconds (0: run until Ctrl+C)", 0, 0, int.MaxValue);
        private readonly Option<int> _seed = SimulatorCli.Int("--seed", "N", "seed of the simulated GPU readings", DefaultSeed, int.MinValue, int.MaxValue);

        private readonly Option<string> _trace = SimulatorCli.Text(
            "--trace",
            "FILE",
            $"the request trace the gateway replays, CSV as for simulate (default: the shipped {GatewayTraffic.TraceFileName}, copied next to the simulator)");

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { _nodes, _chaosSeconds, _seconds, _seed, _trace })
            {
                command.Options.Add(option);
            }
        }

        public SimulatorOptions Bind(ParseResult parse, SimulatorCommand command, int port, string dataDirectory, Uri? server, string? token) =>
            new(command, parse.GetValue(_nodes), parse.GetValue(_chaosSeconds), parse.GetValue(_seconds), parse.GetValue(_seed), port, dataDirectory, server, token)
            {
                TracePath = parse.GetValue(_trace),
            };
    }
}
