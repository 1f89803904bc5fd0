using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Load;

namespace ControlPlane.Simulator.Tests.Load;

public sealed class LoadUsageOptionsTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void TryParse_ServerAndTokenAlone_Defaults()
    {
        Assert.True(SimulatorCli.TryParse(["load-usage", "--server", "http://cp:5000", "--token", "cpop_abc"], NoEnvironment, out var options, out var error), error);

        Assert.Equal(SimulatorCommand.LoadUsage, options.Command);
        Assert.Equal(new Uri("http://cp:5000/"), options.Server);
        Assert.Equal("cpop_abc", options.Token);
        Assert.Equal(new LoadUsageOptions(200, 1_000, 8, 4, null, 20_000), options.Load);
    }

    [Fact]
    public void TryParse_AllValues_TakesThem()
    {
        Assert.True(SimulatorCli.TryParse(
            ["load-usage", "--server=http://127.0.0.1:5080/base", "--token", "t", "--batches", "50", "--batch-size=250", "--concurrency", "16", "--customers", "2",
             "--postgres", "Host=127.0.0.1;Port=5433;Username=postgres;Database=cp", "--baseline-writes", "1000"],
            NoEnvironment,
            out var options,
            out var error), error);

        Assert.Equal(new Uri("http://127.0.0.1:5080/base/"), options.Server);
        Assert.Equal(new LoadUsageOptions(50, 250, 16, 2, "Host=127.0.0.1;Port=5433;Username=postgres;Database=cp", 1_000), options.Load);
    }

    [Fact]
    public void TryParse_GrainWrites_TakesThem()
    {
        Assert.True(SimulatorCli.TryParse(["load-usage", "--server", "http://cp:5000", "--token", "t", "--grain-writes", "5000"], NoEnvironment, out var options, out var error), error);

        Assert.Equal(5_000, options.Load!.GrainWrites);
    }

    [Fact]
    public void TryParse_HistoryAndViews_TakesThem()
    {
        Assert.True(SimulatorCli.TryParse(
            ["load-usage", "--server", "http://cp:5000", "--token", "t", "--history-days", "0", "--views", "5", "--view-contract", "c-1"],
            NoEnvironment,
            out var options,
            out var error), error);

        Assert.Equal((0, 5, "c-1"), (options.Load!.HistoryDays, options.Load.Views, options.Load.ViewContract));
    }

    [Theory]
    [InlineData("--history-days", "366")]
    [InlineData("--views", "0")]
    [InlineData("--view-contract", " ")]
    public void TryParse_BadHistoryOrViews_Refuses(string name, string value)
    {
        Assert.False(SimulatorCli.TryParse(["load-usage", "--server", "http://cp:5000", "--token", "t", name, value], NoEnvironment, out _, out var error));

        Assert.Contains(name, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_ServerAndTokenFromEnvironment_UsesThem()
    {
        var environment = new Dictionary<string, string>
        {
            [SimulatorOptions.ServerVariable] = "http://127.0.0.1:5000",
            [SimulatorOptions.TokenVariable] = "cpop_from_env",
        };

        Assert.True(SimulatorCli.TryParse(["load-usage", "--batches", "3"], environment.GetValueOrDefault, out var options, out var error), error);

        Assert.Equal(new Uri("http://127.0.0.1:5000/"), options.Server);
        Assert.Equal("cpop_from_env", options.Token);
        Assert.Equal(3, options.Load!.Batches);
    }

    [Fact]
    public void TryParse_PostgresWithoutServer_OnlyTheBaseline()
    {
        Assert.True(SimulatorCli.TryParse(["load-usage", "--postgres", "Host=x"], NoEnvironment, out var options, out var error), error);

        Assert.Null(options.Server);
        Assert.Null(options.Token);
        Assert.Equal("Host=x", options.Load!.PostgresConnectionString);
    }

    [Fact]
    public void TryParse_OtherCommands_HaveNoLoadOptions()
    {
        Assert.True(SimulatorCli.TryParse(["demo"], NoEnvironment, out var options, out var error), error);

        Assert.Null(options.Load);
    }

    [Theory]
    [InlineData("load-usage", "load-usage needs --server")]
    [InlineData("load-usage --server http://x", "load-usage needs --token")]
    [InlineData("load-usage --server http://x --postgres Host=y", "load-usage needs --token")]
    [InlineData("load-usage --server ftp://x --token t", "--server must be an absolute http or https URL, got 'ftp://x'")]
    [InlineData("load-usage --server http://x --token t --batches 0", "--batches must be a whole number from 1 to 1000000, got '0'")]
    [InlineData("load-usage --server http://x --token t --batch-size 10001", "--batch-size must be a whole number from 1 to 10000")]
    [InlineData("load-usage --server http://x --token t --batch-size many", "--batch-size must be a whole number from 1 to 10000, got 'many'")]
    [InlineData("load-usage --server http://x --token t --concurrency 0", "--concurrency must be a whole number from 1 to 256")]
    [InlineData("load-usage --server http://x --token t --customers 1001", "--customers must be a whole number from 1 to 1000")]
    [InlineData("load-usage --server http://x --token t --baseline-writes -1", "--baseline-writes must be a whole number from 1")]
    [InlineData("load-usage --server http://x --token t --grain-writes -1", "--grain-writes must be a whole number from 0")]
    [InlineData("load-usage --postgres Host=y --grain-writes 10", "--grain-writes needs --server")]
    [InlineData("load-usage --server http://x --token t --batches", "Required argument missing for option: '--batches'.")]
    [InlineData("load-usage --server http://x --token t --postgres", "Required argument missing for option: '--postgres'.")]
    [InlineData("load-usage --server http://x --token t --postgres=", "Required argument missing for option: '--postgres'.")]
    [InlineData("load-usage --server http://x --token t --nodes 3", "Unrecognized command or argument '--nodes'.")]
    [InlineData("load-usage --server http://x --token t --port 5000", "Unrecognized command or argument '--port'.")]
    [InlineData("load-usage --server http://x --token t --fast", "Unrecognized command or argument '--fast'.")]
    [InlineData("demo --batches 3", "Unrecognized command or argument '--batches'.")]
    [InlineData("live --server http://x --token t --postgres Host=y", "Unrecognized command or argument '--postgres'.")]
    [InlineData("loadusage", "Unrecognized command or argument 'loadusage'.")]
    public void TryParse_BadArguments_SaysWhy(string commandLine, string expected)
    {
        var args = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);

        Assert.False(SimulatorCli.TryParse(args, NoEnvironment, out var options, out var error));

        Assert.Null(options);
        Assert.Contains(error.Split(Environment.NewLine), line => line.StartsWith(expected, StringComparison.Ordinal));
    }
}
