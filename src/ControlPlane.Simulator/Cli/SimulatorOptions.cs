using System.Diagnostics.CodeAnalysis;
using System.Globalization;
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

    public static readonly string Usage = $"""
        usage: ControlPlane.Simulator demo [--nodes N] [--port PORT] [--chaos-seconds S] [--seconds S] [--seed N] [--data-dir DIR]
                                      [--trace FILE]
               ControlPlane.Simulator live --server URL --token TOKEN [--nodes N] [--chaos-seconds S] [--seconds S] [--seed N]
                                      [--trace FILE] [--no-traffic]
               ControlPlane.Simulator load-usage --server URL --token TOKEN [--batches N] [--batch-size N] [--concurrency N]
                                      [--customers N] [--postgres CONNECTION_STRING] [--baseline-writes N] [--grain-writes N]
                                      [--history-days N] [--views N] [--view-contract ID]
               ControlPlane.Simulator load-heartbeats --server URL --token TOKEN [--nodes N] [--seconds S] [--concurrency N]
                                      [--rounds N] [--warmup-seconds S]
               ControlPlane.Simulator load-flood --server URL --token TOKEN [--flood customer|customer-own|gateway|bad-token|all]
                                      [--seconds S] [--rounds N] [--concurrency N] [--flood-rate R] [--victims N] [--victim-rate R]
                                      [--signals N]
               ControlPlane.Simulator simulate --fleet FLEET.json --trace TRACE.csv [--trace ...] --report-json OUT.json
                                      [--policy liquid|static|oracle|both|all] [--hours H] [--plot OUT.svg] [--seed N] [--step-seconds S]

          demo         start the control plane (embedded: one silo, state in memory) as a child process,
                       enroll simulated GPU nodes and run a real node agent loop for each, with chaos;
                       a simulated gateway replays a request trace as demand for three deployments and
                       meters a dedicated one's requests against a contract whose balance it prints
          live         the same fleet and gateway against a control plane that is already running
          load-usage   benchmark usage ingestion: set a price, open a contract per customer, issue a
                       gateway token, send batches of new events through POST /gateway/v1/usage and print
                       events/s, batches/s and batch latency; with --postgres also the baseline
          load-heartbeats benchmark heartbeats against a server started with Diagnostics__LoadBaselines=true:
                       enroll a fleet, print the memory the server holds for it (per node, per GPU),
                       then heartbeats/s through HTTP against a bare endpoint that calls one grain
          load-flood   flood the server from one customer token (made-up contracts, or its own contract), one gateway
                       token (demand for made-up deployments) or with forged tokens, while
                       victims (other customers, a gateway, nodes) keep calling at a steady rate, and print
                       the victims' latency against an idle phase, the flood's 429 share and grain activations
          simulate     discrete-event fleet simulation in virtual time, with the project's own scheduler,
                       preemption and autoscaler: utilization, dedicated SLO attainment, preemptions,
                       spilled tokens, GPU cost and revenue per policy (see docs/simulator.md)

          --nodes N           simulated nodes (default {DefaultNodes}, at most {MaxNodes})
          --chaos-seconds S   every S seconds a node crashes and comes back 2 x S later; once, one
                              node's nvidia-smi fails for S seconds (default {DefaultChaosSeconds}, 0 = off, else at least {MinChaosSeconds})
          --seconds S         stop after S seconds (default 0: run until Ctrl+C)
          --seed N            seed of the simulated GPU readings (default {DefaultSeed})
          --port PORT         demo: HTTP port of the control plane (default {DefaultPort})
          --data-dir DIR      demo: the control plane's data directory, where it keeps its operator
                              token (default ./{DefaultDataDirectory})
          --trace FILE        demo, live: the request trace the gateway replays, CSV as for simulate
                              (default: the shipped {GatewayTraffic.TraceFileName}, copied next to the simulator)
          --no-traffic        live: run the fleet only, no gateway (no deployments, demand, usage or contract)
          --server URL        live, load-usage: the control plane's base address  (env {ServerVariable})
          --token TOKEN       live, load-usage: its operator token; prefer the    (env {TokenVariable})
                              env variable so the token is not visible in ps

        load-usage:
          --batches N         batches to send (default {LoadUsageOptions.DefaultBatches})
          --batch-size N      events a batch (default {LoadUsageOptions.DefaultBatchSize}, at most {LoadUsageOptions.MaxBatchSize})
          --concurrency N     batches in flight at once (default {LoadUsageOptions.DefaultConcurrency})
          --customers N       customers (one contract each) the events are spread over (default {LoadUsageOptions.DefaultCustomers})
          --postgres CS       also measure the baseline: single-row UPSERTs/s (one transaction each, a row
                              the size of a small grain state) against this PostgreSQL database, i.e.
                              plain grain-state writes/s; with no --server, only the baseline runs
          --baseline-writes N UPSERTs the baseline makes (default {LoadUsageOptions.DefaultBaselineWrites})
          --grain-writes N    also measure plain grain-state writes/s through the server's baseline endpoint
                              (needs Diagnostics__LoadBaselines=true on the server; default 0: off)
          --history-days N    before the load, one small batch for each of the N days before today, and contracts
                              that start N days ago, so each contract's quarter holds N + 1 days of usage; the
                              contract view is timed after the load (default {LoadUsageOptions.DefaultHistoryDays}: a 90-day quarter; 0: none)
          --views N           times the contract view is read after the load (default {LoadUsageOptions.DefaultViews})
          --view-contract ID  no load: only time the view of this contract (after a server restart: a cold read)

        load-heartbeats:
          --nodes N           nodes to enroll (default {LoadHeartbeatsOptions.DefaultNodes}: 10,004 GPUs; 13,637 hold 100,000)
          --seconds S         length of each measured phase (default {LoadHeartbeatsOptions.DefaultSeconds})
          --concurrency N     requests in flight (default {LoadHeartbeatsOptions.DefaultConcurrency}, at most one per node)
          --rounds N          how often the baseline and the heartbeat phase alternate (default {LoadHeartbeatsOptions.DefaultRounds})
          --warmup-seconds S  unmeasured warm-up of each endpoint first (default {LoadHeartbeatsOptions.DefaultWarmupSeconds})

        load-flood:
          --flood F           customer, customer-own, gateway, bad-token, all, or a list (default all); each runs in its
                              own phase, after an idle one
          --seconds S         length of each phase (default {LoadFloodOptions.DefaultSeconds})
          --rounds N          how often the phases repeat (default {LoadFloodOptions.DefaultRounds})
          --concurrency N     the flood's connections (default {LoadFloodOptions.DefaultConcurrency}, at most {LoadFloodOptions.MaxConcurrency})
          --flood-rate R      the flood's requests a second, on a fixed schedule (default 0: each connection sends
                              its next request as soon as one is answered, as fast as the server answers)
          --victims N         victim customers, each reading its invoices (default {LoadFloodOptions.DefaultVictims}); one gateway and two
                              nodes are victims too
          --victim-rate R     requests a second of each victim customer and of the victim gateway (default {LoadFloodOptions.DefaultVictimRate});
                              nodes heartbeat once a second
          --signals N         made-up deployments in each of the gateway flood's demand requests (default {LoadFloodOptions.DefaultSignalsPerDemand})

        simulate:
          --fleet FILE        the fleet file: nodes, models, failures, deployments (deploy/sim/fleet-1k.json)
          --trace FILE        a request trace, CSV TIMESTAMP,ContextTokens,GeneratedTokens; repeatable, named by
                              file name without extension; the first drives deployments that name none
          --report-json FILE  where the JSON report goes
          --policy P          liquid (one pool, this project), static (fixed silos), oracle (liquid with foresight: the limit),
                              both (liquid and static) or all (default {SimulateOptions.DefaultPolicy})
          --hours H           simulated hours (default {SimulateOptions.DefaultHours}, at most {SimulateOptions.MaxHours})
          --plot FILE         also draw utilization and GPUs by pool over time, as SVG
          --seed N            seed of node failures and replica ids (default {DefaultSeed})
          --step-seconds S    simulated seconds a step (default {SimulateOptions.DefaultStepSeconds}, at most {SimulateOptions.MaxStepSeconds})

          -h, --help          show this help
        """;

    private static readonly HashSet<string> CommonOptions = ["--nodes", "--chaos-seconds", "--seconds", "--seed", "--trace"];
    private static readonly HashSet<string> DemoOptions = ["--port", "--data-dir"];
    private static readonly HashSet<string> LiveOptions = ["--server", "--token", NoTraffic];

    /// <summary>Options that take no value.</summary>
    private static readonly HashSet<string> Flags = [NoTraffic];

    private const string NoTraffic = "--no-traffic";

    /// <summary>Options of a command that takes none of the fleet's (<c>load-usage</c>, <c>load-heartbeats</c>, <c>simulate</c>): the fleet's defaults.</summary>
    internal static SimulatorOptions ForCommand(SimulatorCommand command, Uri? server = null, string? token = null, int seed = DefaultSeed) =>
        new(command, DefaultNodes, DefaultChaosSeconds, 0, seed, DefaultPort, DefaultDataDirectory, server, token);

    public static bool IsHelpRequested(IReadOnlyList<string> args) => args.Any(a => a is "-h" or "--help" or "help");

    /// <summary>Parses <paramref name="args"/> (the command first), falling back to the environment for live's server and token.</summary>
    public static bool TryParse(
        IReadOnlyList<string> args,
        Func<string, string?> getEnvironmentVariable,
        [NotNullWhen(true)] out SimulatorOptions? options,
        [NotNullWhen(false)] out string? error)
    {
        options = null;
        if (args.Count == 0)
        {
            error = "missing command: demo, live, load-usage, load-heartbeats, load-flood or simulate";
            return false;
        }

        SimulatorCommand command;
        switch (args[0])
        {
            case "demo":
                command = SimulatorCommand.Demo;
                break;
            case "live":
                command = SimulatorCommand.Live;
                break;
            case "load-usage":
                return LoadUsageOptions.TryParse(args, getEnvironmentVariable, out options, out error);
            case "load-heartbeats":
                return LoadHeartbeatsOptions.TryParse(args, getEnvironmentVariable, out options, out error);
            case "load-flood":
                return LoadFloodOptions.TryParse(args, getEnvironmentVariable, out options, out error);
            case "simulate":
                return SimulateOptions.TryParse(args, out options, out error);
            default:
                error = $"unknown command '{args[0]}': expected demo, live, load-usage, load-heartbeats, load-flood or simulate";
                return false;
        }

        var allowed = command == SimulatorCommand.Demo ? DemoOptions : LiveOptions;
        if (!TryCollect(
                args,
                name => CommonOptions.Contains(name) || allowed.Contains(name),
                name => DemoOptions.Contains(name) || LiveOptions.Contains(name) || LoadUsageOptions.Names.Contains(name) || LoadHeartbeatsOptions.Names.Contains(name) || LoadFloodOptions.Names.Contains(name) || SimulateOptions.Names.Contains(name)
                    ? $"{name} is not an option of {args[0]}"
                    : null,
                out var values,
                out error,
                Flags.Contains))
        {
            return false;
        }

        int nodes = DefaultNodes, chaosSeconds = DefaultChaosSeconds, seconds = 0, seed = DefaultSeed, port = DefaultPort;
        error = ParseInt(values, "--nodes", 1, MaxNodes, ref nodes)
            ?? ParseInt(values, "--chaos-seconds", 0, 86_400, ref chaosSeconds)
            ?? ParseInt(values, "--seconds", 0, int.MaxValue, ref seconds)
            ?? ParseInt(values, "--seed", int.MinValue, int.MaxValue, ref seed)
            ?? ParseInt(values, "--port", 1, 65_535, ref port);
        if (error is not null)
        {
            return false;
        }

        if (chaosSeconds is > 0 and < MinChaosSeconds)
        {
            error = $"--chaos-seconds must be 0 (off) or at least {MinChaosSeconds}, got {chaosSeconds}";
            return false;
        }

        var dataDirectory = values.GetValueOrDefault("--data-dir", DefaultDataDirectory);
        if (dataDirectory.Trim().Length == 0)
        {
            error = "--data-dir must not be empty";
            return false;
        }

        Uri? server = null;
        string? token = null;
        if (command == SimulatorCommand.Live)
        {
            error = ParseServer("live", values, getEnvironmentVariable, out server, out token);
            if (error is not null)
            {
                return false;
            }
        }

        var tracePath = values.GetValueOrDefault("--trace");
        if (tracePath is not null && tracePath.Trim().Length == 0)
        {
            error = "--trace must not be empty";
            return false;
        }

        options = new SimulatorOptions(command, nodes, chaosSeconds, seconds, seed, port, dataDirectory, server, token)
        {
            TracePath = tracePath,
            Traffic = !values.ContainsKey(NoTraffic),
        };
        return true;
    }

    /// <summary>
    /// The control plane's address and operator token from <c>--server</c> and <c>--token</c> (or the
    /// environment); null, or why not.
    /// </summary>
    internal static string? ParseServer(string command, Dictionary<string, string> values, Func<string, string?> getEnvironmentVariable, out Uri? server, out string? token)
    {
        server = null;
        var serverText = Fallback(values.GetValueOrDefault("--server"), ServerVariable, getEnvironmentVariable);
        token = Fallback(values.GetValueOrDefault("--token"), TokenVariable, getEnvironmentVariable);
        if (serverText is null)
        {
            return $"{command} needs --server (or {ServerVariable})";
        }

        if (token is null)
        {
            return $"{command} needs --token (or {TokenVariable}): the control plane's operator token";
        }

        if (!Uri.TryCreate(serverText, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
        {
            return $"--server must be an absolute http or https URL, got '{serverText}'";
        }

        if (token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return "--token must not contain spaces or control characters";
        }

        // A trailing slash keeps a path prefix (https://host/controlplane/) when relative paths are appended.
        server = parsed.AbsoluteUri.EndsWith('/') ? parsed : new Uri(parsed.AbsoluteUri + "/");
        return null;
    }

    /// <summary>
    /// Collects <c>--name value</c> and <c>--name=value</c> pairs after the command (<paramref name="args"/>[0]).
    /// <paramref name="misplaced"/> explains a known option given to the wrong command (null: unknown); a name that
    /// <paramref name="isFlag"/> takes no value and is collected as <c>"true"</c>.
    /// </summary>
    internal static bool TryCollect(
        IReadOnlyList<string> args,
        Func<string, bool> isAllowed,
        Func<string, string?> misplaced,
        out Dictionary<string, string> values,
        [NotNullWhen(false)] out string? error,
        Func<string, bool>? isFlag = null)
    {
        values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Count; i++)
        {
            var (name, value) = SplitArgument(args[i]);
            if (!isAllowed(name))
            {
                error = misplaced(name) ?? $"unknown argument '{args[i]}'";
                return false;
            }

            if (isFlag?.Invoke(name) == true)
            {
                if (value is not null)
                {
                    error = $"{name} takes no value";
                    return false;
                }

                value = "true";
            }
            else if (value is null)
            {
                // A value never starts with "--" (not even a connection string): that is the next option.
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    error = $"{name} needs a value";
                    return false;
                }

                value = args[++i];
            }

            values[name] = value;
        }

        error = null;
        return true;
    }

    internal static (string Name, string? Value) SplitArgument(string arg)
    {
        var equals = arg.IndexOf('=', StringComparison.Ordinal);
        return arg.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? (arg[..equals], arg[(equals + 1)..]) : (arg, null);
    }

    internal static string? ParseInt(Dictionary<string, string> values, string name, int min, int max, ref int target)
    {
        if (!values.TryGetValue(name, out var text))
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            return max == int.MaxValue
                ? $"{name} must be a whole number of at least {min}, got '{text}'"
                : $"{name} must be a whole number from {min} to {max}, got '{text}'";
        }

        target = value;
        return null;
    }

    internal static string? Fallback(string? value, string variable, Func<string, string?> getEnvironmentVariable)
    {
        var fromEnvironment = getEnvironmentVariable(variable)?.Trim();
        return string.IsNullOrEmpty(value) ? (string.IsNullOrEmpty(fromEnvironment) ? null : fromEnvironment) : value;
    }
}
