using System.CommandLine;
using ControlPlane.Simulator.Cli;

namespace ControlPlane.Simulator.Load;

/// <summary>Who floods in a <c>load-flood</c> phase.</summary>
internal enum FloodKind
{
    /// <summary>One customer token asking for contracts that do not exist.</summary>
    Customer,

    /// <summary>
    /// One customer token reading its own contract, the costliest call a customer may make (the live book reads every
    /// usage day of the term so far: 90 days here).
    /// </summary>
    CustomerOwn,

    /// <summary>One gateway token sending demand for deployments that do not exist.</summary>
    Gateway,

    /// <summary>Forged tokens from one address.</summary>
    BadToken,
}

/// <summary>What <c>load-flood</c> was told, beyond the server and token.</summary>
/// <param name="Floods">The floods to run, each in its own phase after an idle one.</param>
/// <param name="Seconds">How long each phase runs.</param>
/// <param name="Rounds">How many times the idle and flood phases repeat.</param>
/// <param name="Concurrency">The flood's requests in flight (closed loop: the next as soon as one is answered).</param>
/// <param name="Victims">Customers (a contract and a token each) reading their invoices throughout, besides one gateway and two nodes.</param>
/// <param name="VictimRate">Requests a second each victim customer and the victim gateway send, on a fixed schedule.</param>
/// <param name="SignalsPerDemand">Made-up deployments each of the gateway flood's demand requests names.</param>
/// <param name="FloodRate">Requests a second the flood sends on a fixed schedule (as long as its connections keep up); 0: each connection sends its next request as soon as one is answered.</param>
internal sealed record LoadFloodOptions(
    IReadOnlyList<FloodKind> Floods,
    int Seconds,
    int Rounds,
    int Concurrency,
    int Victims,
    int VictimRate,
    int SignalsPerDemand,
    int FloodRate = 0)
{
    public const int DefaultSeconds = 20;
    public const int DefaultRounds = 2;
    public const int DefaultConcurrency = 32;
    public const int MaxConcurrency = 256;
    public const int DefaultVictims = 20;
    public const int MaxVictims = 500;

    /// <summary>Half a customer's default budget (10 a second): victims are never throttled themselves.</summary>
    public const int DefaultVictimRate = 5;

    public const int DefaultSignalsPerDemand = 100;

    /// <summary>The server's limit (<c>DeploymentMapping.MaxDemandSignals</c>).</summary>
    public const int MaxSignalsPerDemand = 1_000;

    /// <summary><c>load-flood</c>: floods a running control plane and measures what other callers see meanwhile.</summary>
    public static OptionsCommand CreateCommand(Func<string, string?> getEnvironmentVariable)
    {
        var access = new ControlPlaneAccess(getEnvironmentVariable);
        var flood = new Option<string>("--flood")
        {
            HelpName = "F",
            Description = "customer, customer-own, gateway, bad-token, all, or a comma-separated list; each runs in its own phase, after an idle one",
            DefaultValueFactory = _ => "all",
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                if (ParseFloods(text, out _) is { } why)
                {
                    result.AddError(why);
                }

                return text;
            },
        };
        var seconds = SimulatorCli.Int("--seconds", "S", "length of each phase", DefaultSeconds, 1, 3_600);
        var rounds = SimulatorCli.Int("--rounds", "N", "how often the phases repeat", DefaultRounds, 1, 100);
        var concurrency = SimulatorCli.Int("--concurrency", "N", "the flood's connections", DefaultConcurrency, 1, MaxConcurrency);
        var floodRate = SimulatorCli.Int(
            "--flood-rate", "R", "the flood's requests a second, on a fixed schedule (0: each connection sends its next request as soon as one is answered, as fast as the server answers)", 0, 0, 1_000_000);
        var victims = SimulatorCli.Int("--victims", "N", "victim customers, each reading its invoices; one gateway and two nodes are victims too", DefaultVictims, 1, MaxVictims);
        var victimRate = SimulatorCli.Int("--victim-rate", "R", "requests a second of each victim customer and of the victim gateway; nodes heartbeat once a second", DefaultVictimRate, 1, 1_000);
        var signals = SimulatorCli.Int("--signals", "N", "made-up deployments in each of the gateway flood's demand requests", DefaultSignalsPerDemand, 1, MaxSignalsPerDemand);
        var command = new OptionsCommand(
            "load-flood",
            """
            Flood the server from one customer token (made-up contracts, or its own contract), one gateway token (demand for
            made-up deployments) or with forged tokens, while victims (other customers, a gateway, nodes) keep calling at a
            steady rate, and print the victims' latency against an idle phase, the flood's 429 share and grain activations.
            """,
            parse =>
            {
                if (access.Resolve("load-flood", parse, out var server, out var token) is { } why)
                {
                    return (null, why);
                }

                _ = ParseFloods(parse.GetValue(flood)!, out var floods); // checked by the option's parser
                return (SimulatorOptions.ForCommand(SimulatorCommand.LoadFlood, server, token) with
                {
                    Flood = new LoadFloodOptions(
                        floods,
                        parse.GetValue(seconds),
                        parse.GetValue(rounds),
                        parse.GetValue(concurrency),
                        parse.GetValue(victims),
                        parse.GetValue(victimRate),
                        parse.GetValue(signals),
                        parse.GetValue(floodRate)),
                }, null);
            })
        {
            access.Server, access.Token, flood, seconds, rounds, concurrency, floodRate, victims, victimRate, signals,
        };
        return command;
    }

    /// <summary>The name of a flood as the option and the report spell it.</summary>
    public static string Name(FloodKind kind) => kind switch
    {
        FloodKind.Customer => "customer",
        FloodKind.CustomerOwn => "customer-own",
        FloodKind.Gateway => "gateway",
        _ => "bad-token",
    };

    private static string? ParseFloods(string text, out IReadOnlyList<FloodKind> floods)
    {
        var all = Enum.GetValues<FloodKind>();
        var chosen = new List<FloodKind>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "all")
            {
                chosen.AddRange(all);
                continue;
            }

            var kind = all.Where(k => Name(k) == part).Cast<FloodKind?>().FirstOrDefault();
            if (kind is null)
            {
                floods = [];
                return $"--flood must be customer, customer-own, gateway, bad-token or all (or a comma-separated list), got '{part}'";
            }

            chosen.Add(kind.Value);
        }

        floods = chosen.Distinct().ToArray();
        return floods.Count == 0 ? "--flood must name at least one flood" : null;
    }
}
