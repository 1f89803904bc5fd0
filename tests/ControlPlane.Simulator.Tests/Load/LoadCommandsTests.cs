using System.Net;
using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Live;
using ControlPlane.Simulator.Load;
using ControlPlane.Simulator.Tests.Live;

namespace ControlPlane.Simulator.Tests.Load;

/// <summary>The load commands end to end, against the real server as a child process.</summary>
public sealed class LoadCommandsTests : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private readonly DirectoryInfo _dataDirectory = Directory.CreateTempSubdirectory("simulator-load-");
    private readonly LockedWriter _serverOutput = new();
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();
    private readonly List<ServerChild> _servers = [];

    [Fact]
    public async Task LoadHeartbeats_ServerWithBaselines_ReportsMemoryAndBothRates()
    {
        // Each node heartbeats as fast as the server answers, far beyond an agent's rate: its limit is raised, as performance.md does.
        var (server, token) = await StartServerAsync(new Dictionary<string, string>
        {
            ["Diagnostics__LoadBaselines"] = "true",
            ["RateLimiting__Node__Burst"] = "100000",
            ["RateLimiting__Node__PerSecond"] = "100000",
        });
        var options = LoadOptions(server, token, "--nodes", "12", "--seconds", "1", "--rounds", "1", "--warmup-seconds", "0", "--concurrency", "4");

        var exitCode = await new LoadHeartbeatsCommand(options, _output, _error).RunAsync(TestContext.Current.CancellationToken);

        Assert.True(exitCode == 0, $"exit code {exitCode}: {_error}{Environment.NewLine}{_output}{Environment.NewLine}{_serverOutput}");
        var output = _output.ToString();
        Assert.Contains("[load] enrolling 12 nodes (88 GPUs)", output, StringComparison.Ordinal);
        Assert.Contains("[memory] held for the fleet: managed heap", output, StringComparison.Ordinal);
        Assert.Matches(@"\[load\] enrolled in [\d.,]+ s \([\d,]+ nodes/s\); first heartbeats \(each registers the node.s GPUs\) in [\d.,]+ s", output);
        Assert.Contains("NodeGrain 12", output, StringComparison.Ordinal);
        Assert.Matches(@"\[load\] round 1 baseline +[\d,]+ requests/s", output);
        Assert.Matches(@"\[load\] round 1 heartbeats +[\d,]+ requests/s", output);
        Assert.Matches(@"\[result\] heartbeats [\d,]+/s, baseline \(bare endpoint calling one grain\) [\d,]+/s: heartbeats/s = \d+\.\d\d x baseline", output);
        Assert.Matches(@"\[memory\] after the load: managed heap [\d.,]+ MiB, 12 bare baseline grains active: -?[\d.,]+ MiB more = -?[\d.,]+ KiB a bare activation", output);
        Assert.DoesNotContain("FAILED", output, StringComparison.Ordinal);
        Assert.Equal("", _error.ToString());

        // The heartbeats were the real thing: every node is ready with its GPUs.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var nodes = await new AdminClient(http, server.BaseAddress, token).ListNodesAsync(TestContext.Current.CancellationToken);
        Assert.Equal(12, nodes.Length);
        Assert.All(nodes, n => Assert.Equal("ready", n.Status));
        Assert.Equal(88, nodes.Sum(n => n.GpuCount));

        // The memory report stalls the silo: an operator's call only.
        using var anonymous = await http.GetAsync(new Uri(server.BaseAddress, "diagnostics/v1/memory"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task LoadUsage_GrainWrites_MeasuresTheGrainStateBaselineThenTheLoad()
    {
        var (server, token) = await StartServerAsync(new Dictionary<string, string> { ["Diagnostics__LoadBaselines"] = "true" });
        var options = LoadOptions(server, token, "--grain-writes", "200", "--batches", "4", "--batch-size", "50", "--customers", "1", "--concurrency", "2");

        var exitCode = await new LoadUsageCommand(options, _output, _error).RunAsync(TestContext.Current.CancellationToken);

        Assert.True(exitCode == 0, $"exit code {exitCode}: {_error}{Environment.NewLine}{_output}{Environment.NewLine}{_serverOutput}");
        var output = _output.ToString();
        Assert.Matches(@"\[baseline\] [\d,]+ grain-state writes/s \(200 in ", output);
        Assert.Contains("[load] checked: the 1 contract counted exactly the tokens of the 4 batches answered 200", output, StringComparison.Ordinal);
        Assert.Matches(@"\[result\] [\d,]+ durable events/s = [\d.,]+ x the [\d,]+ plain grain-state writes/s through the same server", output);
    }

    [Fact]
    public async Task LoadFlood_EveryFlood_VictimsAnsweredAndTheFloodsThrottledWithoutActivations()
    {
        // The gateway's default budget (1,000 a second) outlasts a short flood from 4 connections: a smaller one here.
        var (server, token) = await StartServerAsync(new Dictionary<string, string>
        {
            ["Diagnostics__LoadBaselines"] = "true",
            ["RateLimiting__Gateway__Burst"] = "50",
            ["RateLimiting__Gateway__PerSecond"] = "25",
        });
        var options = LoadOptions(server, token, "--seconds", "2", "--rounds", "1", "--victims", "2", "--concurrency", "4", "--signals", "10");

        var exitCode = await new LoadFloodCommand(options, _output, _error).RunAsync(TestContext.Current.CancellationToken);

        Assert.True(exitCode == 0, $"exit code {exitCode}: {_error}{Environment.NewLine}{_output}{Environment.NewLine}{_serverOutput}");
        var output = _output.ToString();
        Assert.Matches(@"\[flood\] round 1 idle +victims [\d,]+ requests: p50 [\d.]+ ms, p99 [\d.]+ ms", output);
        Assert.Matches(@"\[result\] victims' p99 over 1 round of 2 s: idle [\d.]+ ms", output);
        foreach (var flood in new[] { "customer", "customer-own", "gateway", "bad-token" })
        {
            // Each flood ran past its budget (50, 50, 50 and 20 at once), so some of it was refused.
            Assert.Matches($@"\[flood\] round 1 {flood} flood +victims [\d,]+ requests: .*; flood [\d,]+ answers/s over 4 connections \(.*429 ", output);
            Assert.Matches($@"\[result\] {flood} flood: victims' p99 [\d.]+ ms = [\d.]+ x idle", output);
        }

        Assert.DoesNotContain("FAILED", output, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(ContractGrain|DeploymentGrain) \+", output);
        Assert.Contains("[result] grain activations", output, StringComparison.Ordinal);
        Assert.Equal("", _error.ToString());
    }

    [Fact]
    public async Task LoadHeartbeats_ServerWithoutBaselines_SaysHowToTurnThemOn()
    {
        var (server, token) = await StartServerAsync(new Dictionary<string, string>());
        var options = LoadOptions(server, token, "--nodes", "2", "--seconds", "1");

        var exitCode = await new LoadHeartbeatsCommand(options, _output, _error).RunAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, exitCode);
        Assert.Contains("start the control plane with Diagnostics__LoadBaselines=true", _error.ToString(), StringComparison.Ordinal);

        // Nothing was enrolled.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Empty(await new AdminClient(http, server.BaseAddress, token).ListNodesAsync(TestContext.Current.CancellationToken));
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        try
        {
            _dataDirectory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static SimulatorOptions LoadOptions(ServerChild server, string token, params string[] args)
    {
        var command = args.Contains("--grain-writes") ? "load-usage" : args.Contains("--victims") ? "load-flood" : "load-heartbeats";
        Assert.True(SimulatorCli.TryParse([command, "--server", server.BaseAddress.AbsoluteUri, "--token", token, .. args], _ => null, out var options, out var error), error);
        return options;
    }

    private async Task<(ServerChild Server, string Token)> StartServerAsync(Dictionary<string, string> settings)
    {
        var directory = _dataDirectory.CreateSubdirectory($"server-{_servers.Count}");
        var server = ServerChild.Start(ControlPlane.Testing.FreePort.Next(), directory.FullName, _serverOutput, settings);
        _servers.Add(server);
        await server.WaitUntilReadyAsync(StartTimeout, TestContext.Current.CancellationToken);
        return (server, await server.ReadOperatorTokenAsync(TestContext.Current.CancellationToken));
    }
}
