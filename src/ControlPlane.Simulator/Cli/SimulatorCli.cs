using System.CommandLine;
using System.CommandLine.Invocation;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using ControlPlane.Simulator.Live;
using ControlPlane.Simulator.Load;
using ControlPlane.Simulator.Simulation;

namespace ControlPlane.Simulator.Cli;

/// <summary>
/// The simulator's command line on System.CommandLine. Each command is defined once, next to the options record it
/// fills (<see cref="OptionsCommand"/>): its options' names, defaults, help, ranges and which are required. What spans
/// several options (the environment's server and token, a limit on hours and steps together) is checked when the
/// parse becomes <see cref="SimulatorOptions"/>.
/// </summary>
internal static class SimulatorCli
{
    /// <summary>The exit code of a command line the simulator refuses.</summary>
    public const int UsageError = 2;

    public const string Name = "ControlPlane.Simulator";

    // A token that starts with '@' is a value here (a token, a connection string), never a response file to read.
    private static readonly ParserConfiguration Parser = new() { ResponseFileTokenReplacer = null };

    public static RootCommand CreateRoot(Func<string, string?> getEnvironmentVariable)
    {
        var root = new RootCommand("Simulated GPU fleets, traffic and load against the ControlPlane control plane, and a discrete-event fleet simulator.")
        {
            SimulatorOptions.CreateDemoCommand(),
            SimulatorOptions.CreateLiveCommand(getEnvironmentVariable),
            LoadUsageOptions.CreateCommand(getEnvironmentVariable),
            LoadHeartbeatsOptions.CreateCommand(getEnvironmentVariable),
            LoadFloodOptions.CreateCommand(getEnvironmentVariable),
            SimulateOptions.CreateCommand(),
        };
        foreach (var command in root.Subcommands.Cast<OptionsCommand>())
        {
            command.SetAction((parse, stopping) => RunAsync(command, parse, stopping));
        }

        return root;
    }

    /// <summary>Parses <paramref name="args"/> (the command first); <c>help</c> as the first word asks for help.</summary>
    public static ParseResult Parse(IReadOnlyList<string> args, Func<string, string?> getEnvironmentVariable) =>
        CreateRoot(getEnvironmentVariable).Parse(args is ["help", ..] ? [.. args.Skip(1), "--help"] : args, Parser);

    /// <summary>The options <paramref name="args"/> ask for, or every reason they are refused (one a line).</summary>
    public static bool TryParse(
        IReadOnlyList<string> args,
        Func<string, string?> getEnvironmentVariable,
        [NotNullWhen(true)] out SimulatorOptions? options,
        [NotNullWhen(false)] out string? error)
    {
        var parse = Parse(args, getEnvironmentVariable);
        options = null;
        if (parse.Errors.Count > 0)
        {
            error = string.Join(Environment.NewLine, parse.Errors.Select(e => e.Message));
            return false;
        }

        if (parse.CommandResult.Command is not OptionsCommand command)
        {
            error = "missing command";
            return false;
        }

        (options, error) = command.Bind(parse);
        return options is not null;
    }

    /// <summary>Runs the command line: help, a refusal (exit code <see cref="UsageError"/>), or the command.</summary>
    public static Task<int> RunAsync(
        IReadOnlyList<string> args,
        Func<string, string?> getEnvironmentVariable,
        TextWriter output,
        TextWriter error,
        CancellationToken stopping)
    {
        var parse = Parse(args, getEnvironmentVariable);
        if (parse.Action is ParseErrorAction)
        {
            return Task.FromResult(Refuse(parse.CommandResult.Command, parse.Errors.Select(e => e.Message), error));
        }

        // The caller handles SIGINT and SIGTERM: the commands stop their agents and servers, however long that takes.
        return parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }, stopping);
    }

    private static async Task<int> RunAsync(OptionsCommand command, ParseResult parse, CancellationToken stopping)
    {
        var (output, error) = (parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        var (options, why) = command.Bind(parse);
        if (options is null)
        {
            return Refuse(command, [why!], error);
        }

        return options.Command switch
        {
            SimulatorCommand.Demo => await new DemoCommand(options, output, error).RunAsync(stopping),
            SimulatorCommand.Live => await new LiveCommand(options, output, error).RunAsync(stopping),
            SimulatorCommand.LoadUsage => await new LoadUsageCommand(options, output, error).RunAsync(stopping),
            SimulatorCommand.LoadHeartbeats => await new LoadHeartbeatsCommand(options, output, error).RunAsync(stopping),
            SimulatorCommand.LoadFlood => await new LoadFloodCommand(options, output, error).RunAsync(stopping),
            SimulatorCommand.Simulate => await new SimulateCommand(options, output, error).RunAsync(stopping),
            _ => throw new InvalidOperationException($"no runner for {options.Command}"),
        };
    }

    private static int Refuse(Command command, IEnumerable<string> reasons, TextWriter error)
    {
        foreach (var reason in reasons)
        {
            error.WriteLine($"error: {reason}");
        }

        error.WriteLine(command is RootCommand ? $"'{Name} --help' lists the commands." : $"'{Name} {command.Name} --help' lists its options.");
        return UsageError;
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; <paramref name="check"/> may refuse more.</summary>
    public static Option<int> Int(string name, string helpName, string description, int defaultValue, int min, int max, Func<int, string?>? check = null) =>
        new(name)
        {
            HelpName = helpName,
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
                {
                    result.AddError(max == int.MaxValue
                        ? $"{name} must be a whole number of at least {min}, got '{text}'"
                        : $"{name} must be a whole number from {min} to {max}, got '{text}'");
                    return defaultValue;
                }

                if (check?.Invoke(value) is { } refused)
                {
                    result.AddError(refused);
                }

                return value;
            },
        };

    /// <summary>A value that is not blank, and not the next option (System.CommandLine would take that as the value).</summary>
    public static Option<string> Text(string name, string helpName, string description) =>
        new(name)
        {
            HelpName = helpName,
            Description = description,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                if (text.Trim().Length == 0)
                {
                    result.AddError($"{name} must not be empty");
                }
                else if (text.StartsWith("--", StringComparison.Ordinal))
                {
                    result.AddError($"{name} needs a value, got the option '{text}'");
                }

                return text;
            },
        };

    /// <summary>The environment's value where the command line has none.</summary>
    internal static string? Fallback(string? value, string variable, Func<string, string?> getEnvironmentVariable)
    {
        var fromEnvironment = getEnvironmentVariable(variable)?.Trim();
        return string.IsNullOrEmpty(value) ? (string.IsNullOrEmpty(fromEnvironment) ? null : fromEnvironment) : value;
    }
}
