using System.CommandLine;
using System.Globalization;
using ControlPlane.Simulator.Cli;

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

    /// <summary><c>simulate</c>: a fleet file and traces through the discrete-event simulator, in virtual time.</summary>
    public static OptionsCommand CreateCommand()
    {
        var fleet = SimulatorCli.Text("--fleet", "FILE", "the fleet file: nodes, models, failures, deployments (deploy/sim/fleet-1k.json)");
        fleet.Required = true;
        var traces = new Option<string[]>("--trace")
        {
            HelpName = "FILE",
            Description = "a request trace, CSV TIMESTAMP,ContextTokens,GeneratedTokens; repeatable, named by file name without extension; the first drives deployments that name none",
            Required = true,
            CustomParser = result =>
            {
                var paths = result.Tokens.Select(t => t.Value).ToArray();
                if (paths.Any(string.IsNullOrWhiteSpace))
                {
                    result.AddError("--trace must not be empty");
                }
                else if (paths.GroupBy(t => Path.GetFileNameWithoutExtension(t), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
                {
                    result.AddError($"--trace: two traces are named '{duplicate.Key}' (a trace is named by its file name without extension)");
                }

                return paths;
            },
        };
        var report = SimulatorCli.Text("--report-json", "FILE", "where the JSON report goes");
        report.Required = true;
        var policy = new Option<string>("--policy")
        {
            HelpName = "liquid|static|oracle|both|all",
            Description = "liquid (one pool, this project), static (fixed silos), oracle (liquid with foresight: the limit), both (liquid and static) or all",
            DefaultValueFactory = _ => DefaultPolicy,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                if (PoliciesNamed(text) is null)
                {
                    result.AddError($"--policy must be liquid, static, oracle, both (liquid and static) or all, got '{text}'");
                }

                return text;
            },
        };
        var hours = new Option<double>("--hours")
        {
            HelpName = "H",
            Description = $"simulated hours, fractions allowed (at most {MaxHours})",
            DefaultValueFactory = _ => DefaultHours,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value <= 0 || value > MaxHours)
                {
                    result.AddError($"--hours must be a number more than 0 and at most {MaxHours}, got '{text}'");
                }

                return value;
            },
        };
        var plot = SimulatorCli.Text("--plot", "FILE", "also draw utilization and GPUs by pool over time, as SVG");
        var seed = SimulatorCli.Int("--seed", "N", "seed of node failures and replica ids", SimulatorOptions.DefaultSeed, int.MinValue, int.MaxValue);
        var stepSeconds = SimulatorCli.Int("--step-seconds", "S", "simulated seconds a step", DefaultStepSeconds, 1, MaxStepSeconds);
        var command = new OptionsCommand(
            "simulate",
            """
            Discrete-event fleet simulation in virtual time, with the project's own scheduler, preemption and autoscaler:
            utilization, dedicated SLO attainment, preemptions, spilled tokens, GPU cost and revenue per policy (see
            docs/simulator.md).
            """,
            parse =>
            {
                var (h, step) = (parse.GetValue(hours), parse.GetValue(stepSeconds));
                if (Math.Ceiling(h * 3600 / step) > MaxSteps)
                {
                    return (null, F($"--hours {h} in steps of {step} s is more than {MaxSteps:N0} steps: take longer steps"));
                }

                var s = parse.GetValue(seed);
                return (SimulatorOptions.ForCommand(SimulatorCommand.Simulate, seed: s) with
                {
                    Simulate = new SimulateOptions(parse.GetValue(fleet)!, parse.GetValue(traces)!, PoliciesNamed(parse.GetValue(policy)!)!, h, parse.GetValue(report)!, parse.GetValue(plot), s, step),
                }, null);
            })
        {
            fleet, traces, report, policy, hours, plot, seed, stepSeconds,
        };
        return command;
    }

    /// <summary>The policies <c>--policy</c> names, in order; null: none it knows.</summary>
    private static string[]? PoliciesNamed(string name) => name switch
    {
        LiquidPolicy.PolicyName or StaticPolicy.PolicyName or OraclePolicy.PolicyName => [name],
        "both" => [LiquidPolicy.PolicyName, StaticPolicy.PolicyName],
        "all" => [LiquidPolicy.PolicyName, StaticPolicy.PolicyName, OraclePolicy.PolicyName],
        _ => null,
    };

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
