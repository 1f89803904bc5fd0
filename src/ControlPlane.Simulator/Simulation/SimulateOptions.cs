using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Load;

namespace ControlPlane.Simulator.Simulation;

/// <summary>What <c>simulate</c> was told.</summary>
/// <param name="FleetPath">The fleet file.</param>
/// <param name="TracePaths">The traces, in order (the first drives deployments that name none).</param>
/// <param name="Policies">The policies to run, in order: <c>liquid</c>, <c>static</c> or both.</param>
/// <param name="Hours">Simulated hours.</param>
/// <param name="ReportJsonPath">Where the JSON report goes.</param>
/// <param name="PlotPath">Where the SVG plot goes; null for none.</param>
/// <param name="Seed">Seed of node failures and replica ids.</param>
/// <param name="StepSeconds">Simulated seconds per step.</param>
internal sealed record SimulateOptions(
    string FleetPath,
    IReadOnlyList<string> TracePaths,
    IReadOnlyList<string> Policies,
    double Hours,
    string ReportJsonPath,
    string? PlotPath,
    int Seed,
    int StepSeconds)
{
    public const string DefaultPolicy = "all";
    public const double DefaultHours = 24;
    public const int DefaultStepSeconds = 60;
    public const int MaxStepSeconds = 3_600;

    /// <summary>A leap year.</summary>
    public const double MaxHours = 8_784;

    public const int MaxSteps = 10_000_000;

    /// <summary>The options only <c>simulate</c> takes.</summary>
    public static readonly HashSet<string> Names = ["--fleet", "--trace", "--policy", "--hours", "--report-json", "--plot", "--step-seconds"];

    private static readonly HashSet<string> Allowed = [.. Names, "--seed"];

    /// <summary>Parses <c>simulate</c>'s arguments (<paramref name="args"/>[0] is the command).</summary>
    public static bool TryParse(
        IReadOnlyList<string> args,
        [NotNullWhen(true)] out SimulatorOptions? options,
        [NotNullWhen(false)] out string? error)
    {
        options = null;

        // --trace may be given several times; the shared collector keeps one value per name, so traces are taken out first.
        var traces = new List<string>();
        var rest = new List<string> { args[0] };
        for (var i = 1; i < args.Count; i++)
        {
            var (name, value) = SimulatorOptions.SplitArgument(args[i]);
            if (name != "--trace")
            {
                rest.Add(args[i]);
                continue;
            }

            if (value is null)
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    error = "--trace needs a value";
                    return false;
                }

                value = args[++i];
            }

            traces.Add(value);
        }

        if (!SimulatorOptions.TryCollect(
                rest,
                Allowed.Contains,
                name => name is "--nodes" or "--chaos-seconds" or "--seconds" or "--port" or "--data-dir" or "--server" or "--token" or "--no-traffic" || LoadUsageOptions.Names.Contains(name)
                    ? $"{name} is not an option of simulate"
                    : null,
                out var values,
                out error))
        {
            return false;
        }

        int seed = SimulatorOptions.DefaultSeed, stepSeconds = DefaultStepSeconds;
        error = SimulatorOptions.ParseInt(values, "--seed", int.MinValue, int.MaxValue, ref seed)
            ?? SimulatorOptions.ParseInt(values, "--step-seconds", 1, MaxStepSeconds, ref stepSeconds);
        if (error is not null)
        {
            return false;
        }

        var fleet = values.GetValueOrDefault("--fleet");
        if (string.IsNullOrWhiteSpace(fleet))
        {
            error = "simulate needs --fleet FILE: the fleet file (see deploy/sim/fleet-1k.json)";
            return false;
        }

        if (traces.Count == 0 || traces.Any(string.IsNullOrWhiteSpace))
        {
            error = "simulate needs --trace FILE (one or more): a CSV of TIMESTAMP,ContextTokens,GeneratedTokens";
            return false;
        }

        var duplicate = traces.GroupBy(t => Path.GetFileNameWithoutExtension(t), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            error = $"--trace: two traces are named '{duplicate.Key}' (a trace is named by its file name without extension)";
            return false;
        }

        var report = values.GetValueOrDefault("--report-json");
        if (string.IsNullOrWhiteSpace(report))
        {
            error = "simulate needs --report-json FILE: where the report goes";
            return false;
        }

        var plot = values.GetValueOrDefault("--plot");
        if (plot is not null && plot.Trim().Length == 0)
        {
            error = "--plot must not be empty";
            return false;
        }

        string[] policies;
        switch (values.GetValueOrDefault("--policy", DefaultPolicy))
        {
            case LiquidPolicy.PolicyName:
                policies = [LiquidPolicy.PolicyName];
                break;
            case StaticPolicy.PolicyName:
                policies = [StaticPolicy.PolicyName];
                break;
            case OraclePolicy.PolicyName:
                policies = [OraclePolicy.PolicyName];
                break;
            case "both":
                policies = [LiquidPolicy.PolicyName, StaticPolicy.PolicyName];
                break;
            case "all":
                policies = [LiquidPolicy.PolicyName, StaticPolicy.PolicyName, OraclePolicy.PolicyName];
                break;
            default:
                error = $"--policy must be liquid, static, oracle, both (liquid and static) or all, got '{values["--policy"]}'";
                return false;
        }

        var hours = DefaultHours;
        if (values.TryGetValue("--hours", out var hoursText)
            && (!double.TryParse(hoursText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out hours) || hours <= 0 || hours > MaxHours))
        {
            error = $"--hours must be a number more than 0 and at most {MaxHours}, got '{hoursText}'";
            return false;
        }

        if (Math.Ceiling(hours * 3600 / stepSeconds) > MaxSteps)
        {
            error = $"--hours {hoursText} in steps of {stepSeconds} s is more than {MaxSteps:N0} steps: take longer steps";
            return false;
        }

        options = SimulatorOptions.ForCommand(SimulatorCommand.Simulate, seed: seed) with
        {
            Simulate = new SimulateOptions(fleet, traces, policies, hours, report, plot, seed, stepSeconds),
        };
        return true;
    }
}
