using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Simulation;

namespace ControlPlane.Simulator.Tests.Simulation;

public sealed class SimulateOptionsTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void TryParse_FleetTraceAndReportAlone_Defaults()
    {
        Assert.True(SimulatorCli.TryParse(["simulate", "--fleet", "f.json", "--trace", "t.csv", "--report-json", "r.json"], NoEnvironment, out var options, out var error), error);

        Assert.Equal(SimulatorCommand.Simulate, options.Command);
        var simulate = options.Simulate!;
        Assert.Equal("f.json", simulate.FleetPath);
        Assert.Equal(["t.csv"], simulate.TracePaths);
        Assert.Equal(["liquid", "static", "oracle"], simulate.Policies);
        Assert.Equal(24, simulate.Hours);
        Assert.Equal("r.json", simulate.ReportJsonPath);
        Assert.Null(simulate.PlotPath);
        Assert.Equal(1, simulate.Seed);
        Assert.Equal(60, simulate.StepSeconds);
    }

    [Fact]
    public void TryParse_AllValues_TakesThemAndEveryTraceInOrder()
    {
        Assert.True(SimulatorCli.TryParse(
            ["simulate", "--fleet=deploy/sim/fleet-1k.json", "--trace", "a.csv", "--trace=dir/b.csv", "--policy", "static", "--hours", "1.5",
             "--report-json", "out/r.json", "--plot", "out/p.svg", "--seed", "-7", "--step-seconds", "30"],
            NoEnvironment,
            out var options,
            out var error), error);

        var simulate = options.Simulate!;
        Assert.Equal("deploy/sim/fleet-1k.json", simulate.FleetPath);
        Assert.Equal(["a.csv", "dir/b.csv"], simulate.TracePaths);
        Assert.Equal(["static"], simulate.Policies);
        Assert.Equal(1.5, simulate.Hours);
        Assert.Equal("out/r.json", simulate.ReportJsonPath);
        Assert.Equal("out/p.svg", simulate.PlotPath);
        Assert.Equal(-7, simulate.Seed);
        Assert.Equal(30, simulate.StepSeconds);
    }

    [Theory]
    [InlineData("simulate", "Option '--fleet' is required.")]
    [InlineData("simulate --fleet f.json --report-json r.json", "Option '--trace' is required.")]
    [InlineData("simulate --fleet f.json --trace t.csv", "Option '--report-json' is required.")]
    [InlineData("simulate --fleet f.json --trace", "Required argument missing for option: '--trace'.")]
    [InlineData("simulate --fleet f.json --trace a/t.csv --trace b/t.csv --report-json r.json", "--trace: two traces are named 't'")]
    [InlineData("simulate --fleet f.json --trace t.csv --report-json r.json --policy fluid", "--policy must be liquid, static, oracle, both (liquid and static) or all, got 'fluid'")]
    [InlineData("simulate --fleet f.json --trace t.csv --report-json r.json --hours 0", "--hours must be a number more than 0 and at most 8784, got '0'")]
    [InlineData("simulate --fleet f.json --trace t.csv --report-json r.json --hours day", "--hours must be a number more than 0 and at most 8784, got 'day'")]
    [InlineData("simulate --fleet f.json --trace t.csv --report-json r.json --step-seconds 0", "--step-seconds must be a whole number from 1 to 3600, got '0'")]
    [InlineData("simulate --fleet f.json --trace t.csv --report-json r.json --hours 8000 --step-seconds 1", "--hours 8000 in steps of 1 s is more than 10,000,000 steps")]
    [InlineData("simulate --fleet f.json --trace t.csv --report-json r.json --nodes 3", "Unrecognized command or argument '--nodes'.")]
    [InlineData("simulate --fleet f.json --trace t.csv --report-json r.json --batches 3", "Unrecognized command or argument '--batches'.")]
    [InlineData("demo --fleet f.json", "Unrecognized command or argument '--fleet'.")]
    [InlineData("load-usage --postgres x --hours 2", "Unrecognized command or argument '--hours'.")]
    public void TryParse_BadArguments_SaysWhy(string commandLine, string expected)
    {
        var args = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);

        Assert.False(SimulatorCli.TryParse(args, NoEnvironment, out var options, out var error));

        Assert.Null(options);
        Assert.Contains(error.Split(Environment.NewLine), line => line.StartsWith(expected, StringComparison.Ordinal));
    }
}
