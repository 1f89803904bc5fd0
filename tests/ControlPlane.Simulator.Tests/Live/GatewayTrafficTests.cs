using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Live;

namespace ControlPlane.Simulator.Tests.Live;

/// <summary>
/// The simulated gateway end to end: the real server as a child process, <c>live</c> run twice against it, and the
/// contract's balance checked to the cent against the usage the gateway had acknowledged.
/// </summary>
public sealed partial class GatewayTrafficTests : IDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _dataDirectory = Directory.CreateTempSubdirectory("simulator-traffic-");
    private readonly LockedWriter _server = new();

    [Fact]
    public void LoadTrace_NoPath_ReadsTheTraceCopiedNextToTheSimulator()
    {
        var trace = GatewayTraffic.LoadTrace(null);

        Assert.Equal(("azure-llm-2023-conv", 19_366), (trace.Name, trace.Rows));
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "traces", "ATTRIBUTION.md")));
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "traces", "LICENSE-CC-BY-4.0.txt")));
    }

    [Fact]
    public async Task LiveCommand_TwiceAgainstOneServer_ContractUsedIsThePriceOfTheAcknowledgedTokens()
    {
        var port = ControlPlane.Testing.FreePort.Next();
        await using var server = ServerChild.Start(port, _dataDirectory.FullName, _server);
        await server.WaitUntilReadyAsync(DemoCommand.ReadyTimeout, CancellationToken.None);
        var token = await server.ReadOperatorTokenAsync(CancellationToken.None);
        var options = new SimulatorOptions(SimulatorCommand.Live, Nodes: 2, ChaosSeconds: 0, Seconds: 12, Seed: 1, Port: 5000, ".controlplane", server.BaseAddress, token);

        // The second run finds the deployments, the price and the contract there already, and meters new usage.
        var first = await RunLiveAsync(options);
        var second = await RunLiveAsync(options with { Seconds = 7 });

        var (input, output) = (first.Input + second.Input, first.Output + second.Output);
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var contract = JsonNode.Parse(await http.GetStringAsync($"admin/v1/contracts/{GatewayBilling.ContractId}"))!;
        var usage = Assert.Single(contract["usageByModel"]!.AsArray());
        Assert.Equal(
            (GatewayTraffic.DedicatedModel, input, output),
            (usage!["model"]!.GetValue<string>(), usage["inputTokens"]!.GetValue<long>(), usage["outputTokens"]!.GetValue<long>()));

        var expectedUsd = decimal.Round(
            (input * GatewayBilling.InputUsdPer1M + output * GatewayBilling.OutputUsdPer1M) / 1_000_000m * (100m - GatewayBilling.DiscountPercent) / 100m,
            2,
            MidpointRounding.AwayFromZero);
        var quarter = contract["quarters"]!.AsArray()[0]!;
        Assert.True(expectedUsd > 0, $"no usage was metered:{Environment.NewLine}{first.Text}{second.Text}");
        Assert.Equal(expectedUsd, decimal.Parse(quarter["usageUsd"]!.GetValue<string>(), CultureInfo.InvariantCulture));
        Assert.Equal(GatewayBilling.QuarterlyCommitUsd - expectedUsd, decimal.Parse(quarter["unusedUsd"]!.GetValue<string>(), CultureInfo.InvariantCulture));

        var deployments = JsonNode.Parse(await http.GetStringAsync("admin/v1/deployments"))!.AsArray()
            .ToDictionary(d => d!["deploymentId"]!.GetValue<string>(), d => d!["demandTokensPerSecond"]!.GetValue<decimal>());
        Assert.Equal(
            [GatewayTraffic.Dedicated, GatewayTraffic.Batch, GatewayTraffic.SharedDedicatedModel, GatewayTraffic.Serverless],
            deployments.Keys.Order(StringComparer.Ordinal));
        Assert.All(deployments.Values, demand => Assert.True(demand > 0));
        Assert.Contains($"| {GatewayBilling.ContractId} Q1: commit 100.00, used ", first.Text);
        Assert.Contains($"| {GatewayBilling.ContractId} Q1: commit 100.00, used ", second.Text);

        // The partner is there once, however often it was put; each [traffic] line is followed by the sharing line.
        var partner = Assert.Single(JsonNode.Parse(await http.GetStringAsync("admin/v1/partners"))!.AsArray());
        Assert.Equal(GatewayTraffic.Partner, partner!["partnerId"]!.GetValue<string>());
        Assert.Matches(Sharing(), first.Text);
        Assert.Matches(Sharing(), second.Text);
    }

    public void Dispose()
    {
        _server.Dispose();
        try
        {
            _dataDirectory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Runs <c>live</c> to its end and reads what its gateway says it metered.</summary>
    private async Task<(long Input, long Output, string Text)> RunLiveAsync(SimulatorOptions options)
    {
        using var output = new LockedWriter();
        var exitCode = await new LiveCommand(options, output, output).RunAsync(CancellationToken.None).WaitAsync(RunTimeout);
        var text = output.ToString();

        Assert.True(exitCode == 0, $"live exited with {exitCode}:{Environment.NewLine}{text}{Environment.NewLine}{_server}");
        var metered = Metered().Match(text);
        Assert.True(metered.Success, $"no metered line:{Environment.NewLine}{text}");
        Assert.Equal("0", metered.Groups["unacknowledged"].Value);
        return (Count(metered, "input"), Count(metered, "output"), text);

        static long Count(Match match, string group) =>
            long.Parse(match.Groups[group].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"\(ready/placed/desired\)\r?\n           shared: (no shared tokens on dedicated replicas|[\d]+ tokens/s of serverless-70b on acme-chat's \d+ dedicated replicas?)[^|\n]* \| (no partner spill|partner spill \d+ tokens/s to demo-partner) \| model loads \d+ warm, \d+ cold\r?\n")]
    private static partial Regex Sharing();

    [GeneratedRegex(@"\[traffic\] metered [\d,]+ usage events of acme-chat in [\d,]+ batch(es)?: (?<input>[\d,]+) input \+ (?<output>[\d,]+) output tokens acknowledged \([\d,]+ counted before, (?<unacknowledged>[\d,]+) batch(es)? unacknowledged\)")]
    private static partial Regex Metered();
}
