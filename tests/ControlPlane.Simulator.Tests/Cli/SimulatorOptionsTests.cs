using ControlPlane.Simulator.Cli;

namespace ControlPlane.Simulator.Tests.Cli;

public sealed class SimulatorOptionsTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void TryParse_DemoAlone_Defaults()
    {
        Assert.True(SimulatorCli.TryParse(["demo"], NoEnvironment, out var options, out var error), error);

        Assert.Equal(new SimulatorOptions(SimulatorCommand.Demo, 6, 45, 0, 1, 5000, ".controlplane", null, null), options);
    }

    [Fact]
    public void TryParse_DemoWithValues_TakesThem()
    {
        Assert.True(SimulatorCli.TryParse(
            ["demo", "--nodes", "3", "--port=5123", "--chaos-seconds", "0", "--seconds", "30", "--seed", "-4", "--data-dir", "/tmp/cp"],
            NoEnvironment,
            out var options,
            out var error), error);

        Assert.Equal(new SimulatorOptions(SimulatorCommand.Demo, 3, 0, 30, -4, 5123, "/tmp/cp", null, null), options);
    }

    [Fact]
    public void TryParse_Live_ServerGetsTrailingSlash()
    {
        Assert.True(SimulatorCli.TryParse(["live", "--server", "http://cp:5000/base", "--token", "cpop_abc"], NoEnvironment, out var options, out var error), error);

        Assert.Equal(SimulatorCommand.Live, options.Command);
        Assert.Equal(new Uri("http://cp:5000/base/"), options.Server);
        Assert.Equal("cpop_abc", options.Token);
    }

    [Fact]
    public void TryParse_LiveFromEnvironment_UsesIt()
    {
        var environment = new Dictionary<string, string>
        {
            [SimulatorOptions.ServerVariable] = "http://127.0.0.1:5000",
            [SimulatorOptions.TokenVariable] = "cpop_from_env\n",
        };

        Assert.True(SimulatorCli.TryParse(["live"], environment.GetValueOrDefault, out var options, out var error), error);

        Assert.Equal(new Uri("http://127.0.0.1:5000/"), options.Server);
        Assert.Equal("cpop_from_env", options.Token);
    }

    [Fact]
    public void TryParse_DemoWithTrace_TakesItAndRunsTheTraffic()
    {
        Assert.True(SimulatorCli.TryParse(["demo", "--trace", "/data/my-trace.csv"], NoEnvironment, out var options, out var error), error);

        Assert.Equal("/data/my-trace.csv", options.TracePath);
        Assert.True(options.Traffic);
    }

    [Fact]
    public void TryParse_LiveDefaults_TrafficFromTheShippedTrace()
    {
        Assert.True(SimulatorCli.TryParse(["live", "--server", "http://cp:5000", "--token", "t"], NoEnvironment, out var options, out var error), error);

        Assert.Null(options.TracePath);
        Assert.True(options.Traffic);
    }

    [Fact]
    public void TryParse_LiveNoTraffic_FleetOnly()
    {
        Assert.True(SimulatorCli.TryParse(["live", "--no-traffic", "--server", "http://cp:5000", "--token", "t", "--nodes", "2"], NoEnvironment, out var options, out var error), error);

        Assert.False(options.Traffic);
        Assert.Equal(2, options.Nodes);
    }

    [Theory]
    [InlineData("", "Required command was not provided.")]
    [InlineData("simulation", "Unrecognized command or argument 'simulation'.")]
    [InlineData("demo --nodes", "Required argument missing for option: '--nodes'.")]
    [InlineData("demo --nodes 0", "--nodes must be a whole number from 1 to 500, got '0'")]
    [InlineData("demo --nodes many", "--nodes must be a whole number from 1 to 500, got 'many'")]
    [InlineData("demo --nodes 501", "--nodes must be a whole number from 1 to 500")]
    [InlineData("demo --port 70000", "--port must be a whole number from 1 to 65535")]
    [InlineData("demo --chaos-seconds 2", "--chaos-seconds must be 0 (off) or at least 5, got 2")]
    [InlineData("demo --chaos-seconds -1", "--chaos-seconds must be a whole number from 0")]
    [InlineData("demo --seconds -1", "--seconds must be a whole number of at least 0")]
    [InlineData("demo --verbose", "Unrecognized command or argument '--verbose'.")]
    [InlineData("demo --server http://x", "Unrecognized command or argument '--server'.")]
    [InlineData("live --token t --port 5000", "Unrecognized command or argument '--port'.")]
    [InlineData("live --token t", "live needs --server")]
    [InlineData("live --server http://x", "live needs --token")]
    [InlineData("live --server ftp://x --token t", "--server must be an absolute http or https URL, got 'ftp://x'")]
    [InlineData("live --server cp:5000 --token t", "--server must be an absolute http or https URL")]
    [InlineData("demo --no-traffic", "Unrecognized command or argument '--no-traffic'.")]
    [InlineData("live --server http://x --token t --no-traffic=yes", "Unrecognized command or argument 'yes'.")]
    [InlineData("demo --trace", "Required argument missing for option: '--trace'.")]
    [InlineData("simulate --no-traffic", "Unrecognized command or argument '--no-traffic'.")]
    [InlineData("load-usage --trace x.csv", "Unrecognized command or argument '--trace'.")]
    public void TryParse_BadArguments_SaysWhy(string commandLine, string expected)
    {
        var args = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);

        Assert.False(SimulatorCli.TryParse(args, NoEnvironment, out var options, out var error));

        Assert.Null(options);
        Assert.Contains(error.Split(Environment.NewLine), line => line.StartsWith(expected, StringComparison.Ordinal));
    }
}
