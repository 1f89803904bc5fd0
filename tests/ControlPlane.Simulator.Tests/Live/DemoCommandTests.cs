using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Live;

namespace ControlPlane.Simulator.Tests.Live;

/// <summary>The demo end to end: the real server as a child process, real agent loops, the admin API.</summary>
public sealed partial class DemoCommandTests : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private readonly DirectoryInfo _dataDirectory = Directory.CreateTempSubdirectory("simulator-demo-");
    private readonly LockedWriter _output = new();

    [Fact]
    public async Task RunAsync_ThreeNodes_AllReadyWithTheirSkusThenStopsTheServer()
    {
        var port = ControlPlane.Testing.FreePort.Next();
        var options = DemoOptions(port);
        using var stopping = new CancellationTokenSource();
        var demo = Task.Run(() => new DemoCommand(options, _output, _output).RunAsync(stopping.Token));

        var nodes = await PollAsync(
            demo,
            async () =>
            {
                var tokenFile = Path.Combine(_dataDirectory.FullName, "operator-token");
                if (!File.Exists(tokenFile))
                {
                    return null;
                }

                using var http = Client(port, (await File.ReadAllTextAsync(tokenFile)).Trim());
                using var response = await http.GetAsync("admin/v1/nodes");
                var list = response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray() : null;
                return list is { Count: 3 } && list.All(n => n!["status"]!.GetValue<string>() == "ready") ? list : null;
            },
            "three ready nodes");

        Assert.Equal(
            [
                ("sim-eu-west-h100-01", "eu-west", "h100-sxm-80gb", 8),
                ("sim-eu-west-l40s-03", "eu-west", "l40s-48gb", 4),
                ("sim-us-east-h200-02", "us-east", "h200-141gb", 8),
            ],
            nodes.Select(n => (
                n!["nodeId"]!.GetValue<string>(),
                n["region"]!.GetValue<string>(),
                n["sku"]!.GetValue<string>(),
                n["gpuCount"]!.GetValue<int>())).OrderBy(n => n.Item1));
        Assert.All(nodes, n => Assert.Null(n!["inventoryError"]?.GetValue<string>()));

        // The gateway's lines say what the routing answer shares and how models loaded; the agents keep their model
        // caches under the demo's data directory.
        var sharing = await PollAsync(demo, () => Task.FromResult(SharingLine().Match(_output.ToString()) is { Success: true } m ? m : null), "a sharing line");
        Assert.Matches(@"^           shared: .+ \| (no partner spill|partner spill \d+ tokens/s to demo-partner) \| model loads \d+ warm, \d+ cold$", sharing.Value.TrimEnd());
        Assert.Contains("[traffic] partner demo-partner serves llama-3.1-70b and llama-3.1-8b", _output.ToString());
        Assert.Equal(
            ["sim-eu-west-h100-01", "sim-eu-west-l40s-03", "sim-us-east-h200-02"],
            Directory.GetDirectories(Path.Combine(_dataDirectory.FullName, "model-cache")).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // The console and portal links sign in at once: their tokens are the operator's and one of acme's, whose
        // contract the portal shows.
        var links = WebUiLinks().Match(_output.ToString());
        Assert.True(links.Success, _output.ToString());
        Assert.Equal(
            (await File.ReadAllTextAsync(Path.Combine(_dataDirectory.FullName, "operator-token"))).Trim(),
            Uri.UnescapeDataString(links.Groups[1].Value));
        using var customer = Client(port, Uri.UnescapeDataString(links.Groups[2].Value));
        await PollAsync(
            demo,
            async () =>
            {
                using var response = await customer.GetAsync("v1/contracts");
                var body = await response.Content.ReadAsStringAsync();
                return response.IsSuccessStatusCode && body.Contains("\"acme-demo\"", StringComparison.Ordinal) ? body : null;
            },
            "acme's contract through the portal's token");

        var pid = int.Parse(ServerPid().Match(_output.ToString()).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        await stopping.CancelAsync();
        var exitCode = await demo.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, exitCode);
        Assert.True(IsGone(pid), $"server process {pid} still runs");
        Assert.False(await ControlPlane.Testing.FreePort.IsListeningAsync(port), $"something still listens on {port}");
        Assert.Contains("[server] controlplane: listening on", _output.ToString());
        Assert.Contains("[demo] stopped", _output.ToString());
    }

    [Fact]
    public async Task RunAsync_PortTaken_FailsWithTheServerOutput()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var exitCode = await new DemoCommand(DemoOptions(port), _output, _output).RunAsync(CancellationToken.None).WaitAsync(StartTimeout);

        Assert.Equal(1, exitCode);
        Assert.Contains("error: the control plane exited before it was ready", _output.ToString());
        Assert.Contains($"[server] controlplane: Port {port} of http://127.0.0.1:{port} is already in use", _output.ToString());
        Assert.Contains("hint: the demo sets the control plane's port with --port", _output.ToString());
    }

    [Fact]
    public async Task LiveCommand_NoServer_FailsSayingSo()
    {
        var server = new Uri($"http://127.0.0.1:{ControlPlane.Testing.FreePort.Next()}/");
        var options = new SimulatorOptions(SimulatorCommand.Live, 2, 0, 0, 1, 5000, ".controlplane", server, "cpop_test");

        var exitCode = await new LiveCommand(options, _output, _output).RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, exitCode);
        Assert.Contains($"error: cannot reach {server}", _output.ToString());
    }

    public void Dispose()
    {
        try
        {
            _dataDirectory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private SimulatorOptions DemoOptions(int port) =>
        new(SimulatorCommand.Demo, Nodes: 3, ChaosSeconds: 0, Seconds: 0, Seed: 1, port, _dataDirectory.FullName, Server: null, Token: null);

    private async Task<T> PollAsync<T>(Task<int> demo, Func<Task<T?>> probe, string what)
        where T : class
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (demo.IsCompleted)
            {
                Assert.Fail($"the demo ended (exit code {await demo}) before {what}:{Environment.NewLine}{_output}");
            }

            try
            {
                if (await probe() is { } found)
                {
                    return found;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"no {what} within {StartTimeout.TotalSeconds:0} s:{Environment.NewLine}{_output}");
    }

    private static HttpClient Client(int port, string token)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private static bool IsGone(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    [GeneratedRegex(@"^           shared: [^\n]*", RegexOptions.Multiline)]
    private static partial Regex SharingLine();

    [GeneratedRegex(@"\[demo\] operator console: http://\S+/console#token=(\S+)\n(?:.*\n)*?\[demo\] customer portal \(acme\): http://\S+/portal#token=(\S+)")]
    private static partial Regex WebUiLinks();

    [GeneratedRegex(@"control plane started \(pid (\d+)\)")]
    private static partial Regex ServerPid();
}
