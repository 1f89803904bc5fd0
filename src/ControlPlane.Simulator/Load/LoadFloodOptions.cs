using System.Diagnostics.CodeAnalysis;
using ControlPlane.Simulator.Cli;

namespace ControlPlane.Simulator.Load;

/// <summary>Who floods in a <c>load-flood</c> phase.</summary>
internal enum FloodKind
{
    /// <summary>One customer token asking for contracts that do not exist.</summary>
    Customer,

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
internal sealed record LoadFloodOptions(
    IReadOnlyList<FloodKind> Floods,
    int Seconds,
    int Rounds,
    int Concurrency,
    int Victims,
    int VictimRate,
    int SignalsPerDemand)
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

    /// <summary>The options only <c>load-flood</c> takes.</summary>
    public static readonly HashSet<string> Names = ["--flood", "--victims", "--victim-rate", "--signals"];

    private static readonly HashSet<string> Allowed = [.. Names, "--server", "--token", "--seconds", "--rounds", "--concurrency"];

    /// <summary>Parses <c>load-flood</c>'s arguments (<paramref name="args"/>[0] is the command).</summary>
    public static bool TryParse(
        IReadOnlyList<string> args,
        Func<string, string?> getEnvironmentVariable,
        [NotNullWhen(true)] out SimulatorOptions? options,
        [NotNullWhen(false)] out string? error)
    {
        options = null;
        if (!SimulatorOptions.TryCollect(args, Allowed.Contains, name => name.StartsWith("--", StringComparison.Ordinal) ? $"{name} is not an option of load-flood" : null, out var values, out error))
        {
            return false;
        }

        Uri? server = null;
        string? token = null;
        int seconds = DefaultSeconds, rounds = DefaultRounds, concurrency = DefaultConcurrency, victims = DefaultVictims, rate = DefaultVictimRate, signals = DefaultSignalsPerDemand;
        IReadOnlyList<FloodKind> floods = [];
        error = SimulatorOptions.ParseInt(values, "--seconds", 1, 3_600, ref seconds)
            ?? SimulatorOptions.ParseInt(values, "--rounds", 1, 100, ref rounds)
            ?? SimulatorOptions.ParseInt(values, "--concurrency", 1, MaxConcurrency, ref concurrency)
            ?? SimulatorOptions.ParseInt(values, "--victims", 1, MaxVictims, ref victims)
            ?? SimulatorOptions.ParseInt(values, "--victim-rate", 1, 1_000, ref rate)
            ?? SimulatorOptions.ParseInt(values, "--signals", 1, MaxSignalsPerDemand, ref signals)
            ?? ParseFloods(values.GetValueOrDefault("--flood", "all"), out floods)
            ?? SimulatorOptions.ParseServer("load-flood", values, getEnvironmentVariable, out server, out token);
        if (error is not null)
        {
            return false;
        }

        options = SimulatorOptions.ForCommand(SimulatorCommand.LoadFlood, server, token) with
        {
            Flood = new LoadFloodOptions(floods, seconds, rounds, concurrency, victims, rate, signals),
        };
        return true;
    }

    /// <summary>The name of a flood as the option and the report spell it.</summary>
    public static string Name(FloodKind kind) => kind switch
    {
        FloodKind.Customer => "customer",
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
                return $"--flood must be customer, gateway, bad-token or all (or a comma-separated list), got '{part}'";
            }

            chosen.Add(kind.Value);
        }

        floods = chosen.Distinct().ToArray();
        return floods.Count == 0 ? "--flood must name at least one flood" : null;
    }
}
