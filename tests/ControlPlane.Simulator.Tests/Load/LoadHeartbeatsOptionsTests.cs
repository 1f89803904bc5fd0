using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Load;

namespace ControlPlane.Simulator.Tests.Load;

public sealed class LoadHeartbeatsOptionsTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void TryParse_ServerAndTokenAlone_Defaults()
    {
        Assert.True(SimulatorCli.TryParse(["load-heartbeats", "--server", "http://cp:5000", "--token", "cpop_abc"], NoEnvironment, out var options, out var error), error);

        Assert.Equal(SimulatorCommand.LoadHeartbeats, options.Command);
        Assert.Equal(new Uri("http://cp:5000/"), options.Server);
        Assert.Equal("cpop_abc", options.Token);
        Assert.Equal(new LoadHeartbeatsOptions(1_364, 20, 32, 2, 5), options.Heartbeats);
        Assert.Null(options.Load);
    }

    [Fact]
    public void TryParse_AllValues_TakesThem()
    {
        var environment = new Dictionary<string, string> { [SimulatorOptions.TokenVariable] = "cpop_env" };

        Assert.True(SimulatorCli.TryParse(
            ["load-heartbeats", "--server=http://127.0.0.1:5080", "--nodes", "13637", "--seconds", "30", "--concurrency=64", "--rounds", "3", "--warmup-seconds", "0"],
            environment.GetValueOrDefault,
            out var options,
            out var error), error);

        Assert.Equal("cpop_env", options.Token);
        Assert.Equal(new LoadHeartbeatsOptions(13_637, 30, 64, 3, 0), options.Heartbeats);
    }

    [Theory]
    [InlineData("load-heartbeats", "load-heartbeats needs --server")]
    [InlineData("load-heartbeats --server http://x", "load-heartbeats needs --token")]
    [InlineData("load-heartbeats --server http://x --token t --nodes 0", "--nodes must be a whole number from 1 to 50000, got '0'")]
    [InlineData("load-heartbeats --server http://x --token t --seconds 0", "--seconds must be a whole number from 1 to 3600")]
    [InlineData("load-heartbeats --server http://x --token t --concurrency 257", "--concurrency must be a whole number from 1 to 256")]
    [InlineData("load-heartbeats --server http://x --token t --rounds 0", "--rounds must be a whole number from 1 to 100")]
    [InlineData("load-heartbeats --server http://x --token t --warmup-seconds -1", "--warmup-seconds must be a whole number from 0 to 600")]
    [InlineData("load-heartbeats --server http://x --token t --batches 3", "Unrecognized command or argument '--batches'.")]
    [InlineData("load-heartbeats --server http://x --token t --chaos-seconds 5", "Unrecognized command or argument '--chaos-seconds'.")]
    [InlineData("load-heartbeats --server http://x --token t fast", "Unrecognized command or argument 'fast'.")]
    [InlineData("demo --rounds 3", "Unrecognized command or argument '--rounds'.")]
    public void TryParse_BadArguments_SaysWhy(string commandLine, string expected)
    {
        var args = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);

        Assert.False(SimulatorCli.TryParse(args, NoEnvironment, out var options, out var error));

        Assert.Null(options);
        Assert.Contains(error.Split(Environment.NewLine), line => line.StartsWith(expected, StringComparison.Ordinal));
    }
}
