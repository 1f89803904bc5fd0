using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Hosting;

/// <summary>
/// The real server executable (<c>ControlPlane.Server.dll</c>, copied next to the tests) in its own
/// process, configured through environment variables the way an operator would, on free loopback ports.
/// </summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly OutputLog _output = new();
    private readonly string _dataDirectory;

    private ServerProcess(Process process, int httpPort, string dataDirectory)
    {
        _process = process;
        _dataDirectory = dataDirectory;
        BaseAddress = new Uri($"http://127.0.0.1:{httpPort.ToString(CultureInfo.InvariantCulture)}");
    }

    public Uri BaseAddress { get; }

    public string Output => _output.ToString();

    public bool HasExited => _process.HasExited;

    /// <summary>The operator token the server printed (generated) or was given.</summary>
    public string OperatorToken { get; private set; } = "";

    /// <summary>
    /// Starts a server. <paramref name="settings"/> are configuration keys (<c>Storage:Provider</c> ...);
    /// by default it runs embedded (memory, localhost clustering) with its own data directory and ports.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(
        IReadOnlyDictionary<string, string>? settings = null,
        bool waitUntilReady = true,
        string? dataDirectory = null,
        IReadOnlyList<string>? arguments = null,
        CancellationToken ct = default)
    {
        // A port FreePort found free can be taken by another process before the server binds it (other test projects
        // start servers at the same time): the server then exits saying the address is in use, and starts again on new
        // ports, unless the caller chose the ports.
        var portsChosen = settings is not null && settings.Keys.Any(k => k is "Clustering:SiloPort" or "Clustering:GatewayPort" or "ASPNETCORE_URLS");
        for (var attempt = 1; ; attempt++)
        {
            var server = StartOnce(settings, dataDirectory, arguments);
            if (!waitUntilReady)
            {
                return server;
            }

            try
            {
                await server.WaitUntilReadyAsync(ct);
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3 && !portsChosen && server.HasExited
                && server.Output.Contains("already in use", StringComparison.OrdinalIgnoreCase))
            {
                await server.DisposeAsync();
            }
        }
    }

    private static ServerProcess StartOnce(IReadOnlyDictionary<string, string>? settings, string? dataDirectory, IReadOnlyList<string>? arguments)
    {
        // A caller that chose the HTTP address (a silo started again where its clients and agents know it) is polled there.
        var httpPort = settings?.TryGetValue("ASPNETCORE_URLS", out var urls) == true ? new Uri(urls).Port : FreePort.Next();
        dataDirectory ??= Directory.CreateTempSubdirectory("controlplane-data-").FullName;
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ControlPlane.Server.dll"));
        foreach (var argument in arguments ?? [])
        {
            info.ArgumentList.Add(argument);
        }

        // The server refuses a silo port equal to its gateway port; an ephemeral port just released may come back.
        var siloPort = FreePort.Next(httpPort);
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{httpPort.ToString(CultureInfo.InvariantCulture)}",
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Storage:DataDirectory"] = dataDirectory,
            ["Clustering:SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
            ["Clustering:GatewayPort"] = FreePort.Next(httpPort, siloPort).ToString(CultureInfo.InvariantCulture),
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:ControlPlane"] = "Information",
            ["Metrics:FleetRefreshSeconds"] = "1",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the server.");
        var server = new ServerProcess(process, httpPort, dataDirectory);
        server._output.Attach(process);
        if (settings?.TryGetValue("Auth:BootstrapToken", out var configured) == true)
        {
            server.OperatorToken = configured;
        }

        return server;
    }

    public async Task WaitUntilReadyAsync(CancellationToken ct = default)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The server exited with code {_process.ExitCode}:\n{Tail(Output)}");
            }

            try
            {
                using var response = await http.GetAsync("/health/ready", ct);
                if (response.IsSuccessStatusCode)
                {
                    if (OperatorToken.Length == 0)
                    {
                        OperatorToken = await ReadPrintedTokenAsync(ct);
                    }

                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
            }

            await Task.Delay(200, ct);
        }

        throw new TimeoutException($"The server did not become ready:\n{Tail(Output)}");
    }

    /// <summary>An HTTP client for this server, with a bearer token when given.</summary>
    public HttpClient CreateClient(string? token = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public HttpClient CreateOperatorClient() => CreateClient(OperatorToken);

    /// <summary>Kills the process at once (no graceful shutdown), as a crash would.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        // Let the output readers drain.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private async Task<string> ReadPrintedTokenAsync(CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var match = PrintedToken().Match(Output);
            if (match.Success)
            {
                return match.Groups[1].Value;
            }

            await Task.Delay(100, ct);
        }

        var file = Path.Combine(_dataDirectory, "operator-token");
        return File.Exists(file) ? (await File.ReadAllTextAsync(file, ct)).Trim() : "";
    }

    public static string Tail(string text, int lines = 60) =>
        string.Join(Environment.NewLine, text.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n').TakeLast(lines));

    [GeneratedRegex(@"operator token (\S+) \(")]
    private static partial Regex PrintedToken();
}
