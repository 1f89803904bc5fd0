using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Load;

namespace ControlPlane.Simulator.Tests.Load;

public sealed class LoadFloodOptionsTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void TryParse_ServerAndTokenAlone_Defaults()
    {
        Assert.True(SimulatorCli.TryParse(["load-flood", "--server", "http://cp:5000", "--token", "cpop_abc"], NoEnvironment, out var options, out var error), error);

        Assert.Equal(SimulatorCommand.LoadFlood, options.Command);
        Assert.Equal(new Uri("http://cp:5000/"), options.Server);
        var flood = options.Flood!;
        Assert.Equal([FloodKind.Customer, FloodKind.CustomerOwn, FloodKind.Gateway, FloodKind.BadToken], flood.Floods);
        Assert.Equal((20, 2, 32, 20, 5, 100, 0), (flood.Seconds, flood.Rounds, flood.Concurrency, flood.Victims, flood.VictimRate, flood.SignalsPerDemand, flood.FloodRate));
        Assert.Null(options.Heartbeats);
    }

    [Fact]
    public void TryParse_AllValues_TakesThem()
    {
        Assert.True(SimulatorCli.TryParse(
            ["load-flood", "--server=http://127.0.0.1:5080", "--token", "t", "--flood", "bad-token,customer-own", "--seconds", "5", "--rounds=3", "--concurrency", "64", "--victims", "8", "--victim-rate", "2", "--signals", "1000", "--flood-rate", "2000"],
            NoEnvironment,
            out var options,
            out var error), error);

        var flood = options.Flood!;
        Assert.Equal([FloodKind.BadToken, FloodKind.CustomerOwn], flood.Floods);
        Assert.Equal((5, 3, 64, 8, 2, 1_000, 2_000), (flood.Seconds, flood.Rounds, flood.Concurrency, flood.Victims, flood.VictimRate, flood.SignalsPerDemand, flood.FloodRate));
    }

    [Theory]
    [InlineData("load-flood", "load-flood needs --server (or CONTROLPLANE_SERVER)")]
    [InlineData("load-flood --server http://x --token t --flood everyone", "--flood must be customer, customer-own, gateway, bad-token or all (or a comma-separated list), got 'everyone'")]
    [InlineData("load-flood --server http://x --token t --flood ,", "--flood must name at least one flood")]
    [InlineData("load-flood --server http://x --token t --concurrency 0", "--concurrency must be a whole number from 1 to 256, got '0'")]
    [InlineData("load-flood --server http://x --token t --signals 1001", "--signals must be a whole number from 1 to 1000, got '1001'")]
    [InlineData("load-flood --server http://x --token t --nodes 3", "Unrecognized command or argument '--nodes'.")]
    public void TryParse_BadArguments_SaysWhy(string line, string expected)
    {
        Assert.False(SimulatorCli.TryParse(line.Split(' '), NoEnvironment, out _, out var error));
        Assert.Contains(expected, error.Split(Environment.NewLine));
    }
}
