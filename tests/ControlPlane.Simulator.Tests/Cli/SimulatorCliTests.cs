using ControlPlane.Simulator.Cli;

namespace ControlPlane.Simulator.Tests.Cli;

/// <summary>The command line as the executable runs it: help, and refusals with their exit code.</summary>
public sealed class SimulatorCliTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    public static TheoryData<string, string[]> CommandsAndTheirOptions => new()
    {
        { "demo", ["--nodes", "--chaos-seconds", "--seconds", "--seed", "--trace", "--port", "--data-dir"] },
        { "live", ["--server", "--token", "--nodes", "--chaos-seconds", "--seconds", "--seed", "--trace", "--no-traffic"] },
        {
            "load-usage",
            ["--server", "--token", "--batches", "--batch-size", "--concurrency", "--customers", "--postgres", "--baseline-writes", "--grain-writes",
             "--history-days", "--views", "--view-contract"]
        },
        { "load-heartbeats", ["--server", "--token", "--nodes", "--seconds", "--concurrency", "--rounds", "--warmup-seconds"] },
        { "load-flood", ["--server", "--token", "--flood", "--seconds", "--rounds", "--concurrency", "--flood-rate", "--victims", "--victim-rate", "--signals"] },
        { "simulate", ["--fleet", "--trace", "--report-json", "--policy", "--hours", "--plot", "--seed", "--step-seconds"] },
    };

    [Theory]
    [MemberData(nameof(CommandsAndTheirOptions))]
    public async Task RunAsync_CommandHelp_ListsEveryOptionAndExitsZero(string command, string[] options)
    {
        var (exitCode, output, error) = await RunAsync(command, "--help");

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        Assert.Contains($" {command} [options]", output, StringComparison.Ordinal);
        var listed = output.Split('\n').Select(l => l.TrimStart()).Where(l => l.StartsWith("--", StringComparison.Ordinal)).Select(l => l.Split(' ')[0]);
        Assert.Equal(options, listed);
        Assert.Contains("-?, -h, --help", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_CommandHelp_ShowsDefaultsAndWhatIsRequired()
    {
        var (_, demo, _) = await RunAsync("demo", "-h");
        var (_, simulate, _) = await RunAsync("help", "simulate");

        Assert.Contains("[default: 6]", demo, StringComparison.Ordinal);
        Assert.Contains("[default: .controlplane]", demo, StringComparison.Ordinal);
        Assert.Contains("--fleet <FILE> (REQUIRED)", simulate, StringComparison.Ordinal);
        Assert.Contains("[default: all]", simulate, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("help")]
    public async Task RunAsync_Help_ListsTheCommands(string help)
    {
        var (exitCode, output, _) = await RunAsync(help);

        Assert.Equal(0, exitCode);
        foreach (var command in CommandsAndTheirOptions.Select(row => row.Data.Item1))
        {
            Assert.Contains($"  {command} ", output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("demo --verbose", "error: Unrecognized command or argument '--verbose'.", "demo")]
    [InlineData("load-usage --server http://x --token t --nodes 3", "error: Unrecognized command or argument '--nodes'.", "load-usage")]
    [InlineData("simulate --fleet f.json --trace t.csv --report-json r.json --plot p.svg extra", "error: Unrecognized command or argument 'extra'.", "simulate")]
    public async Task RunAsync_UnknownOption_RefusedWithExitCode2(string commandLine, string expected, string command)
    {
        var (exitCode, output, error) = await RunAsync(commandLine.Split(' '));

        Assert.Equal(SimulatorCli.UsageError, exitCode);
        Assert.Equal("", output);
        Assert.Contains(expected, error.Split('\n').Select(l => l.TrimEnd()));
        Assert.Contains($"'{SimulatorCli.Name} {command} --help' lists its options.", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("demo --nodes 501", "error: --nodes must be a whole number from 1 to 500, got '501'")]
    [InlineData("demo --port http", "error: --port must be a whole number from 1 to 65535, got 'http'")]
    [InlineData("load-heartbeats --server http://x --token t --rounds 0", "error: --rounds must be a whole number from 1 to 100, got '0'")]
    [InlineData("load-flood --server http://x --token t --flood everyone", "error: --flood must be customer, customer-own, gateway, bad-token or all (or a comma-separated list), got 'everyone'")]
    [InlineData("simulate --fleet f.json --trace t.csv --report-json r.json --hours -1", "error: --hours must be a number more than 0 and at most 8784, got '-1'")]
    [InlineData("load-usage --server http://x --token t --postgres --batches 3", "error: --postgres needs a value, got the option '--batches'")]
    [InlineData("live --server ftp://x --token t", "error: --server must be an absolute http or https URL, got 'ftp://x'")]
    [InlineData("simulate --fleet f.json --trace t.csv --report-json r.json --hours 8000 --step-seconds 1", "error: --hours 8000 in steps of 1 s is more than 10,000,000 steps: take longer steps")]
    [InlineData("simulate --trace t.csv --report-json r.json", "error: Option '--fleet' is required.")]
    public async Task RunAsync_BadValue_RefusedWithExitCode2(string commandLine, string expected)
    {
        var (exitCode, output, error) = await RunAsync(commandLine.Split(' '));

        Assert.Equal(SimulatorCli.UsageError, exitCode);
        Assert.Equal("", output);
        Assert.Contains(expected, error.Split('\n').Select(l => l.TrimEnd()));
    }

    [Fact]
    public async Task RunAsync_NoCommand_RefusedWithExitCode2()
    {
        var (exitCode, _, error) = await RunAsync();

        Assert.Equal(SimulatorCli.UsageError, exitCode);
        Assert.Contains("error: Required command was not provided.", error, StringComparison.Ordinal);
        Assert.Contains($"'{SimulatorCli.Name} --help' lists the commands.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_TokenStartingWithAt_IsAValueNotAResponseFile()
    {
        Assert.True(SimulatorCli.TryParse(["live", "--server", "http://cp:5000", "--token", "@not-a-file"], NoEnvironment, out var options, out var error), error);

        Assert.Equal("@not-a-file", options.Token);
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await SimulatorCli.RunAsync(args, NoEnvironment, output, error, TestContext.Current.CancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }
}
