using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ControlPlane.Simulator.Live;

/// <summary>A server that did not start, or stopped; the message carries the end of its output.</summary>
internal sealed class ServerChildException(string message) : Exception(message);

/// <summary>
/// The real control plane (<c>ControlPlane.Server.dll</c>, built next to the simulator) in a child process
/// on its embedded default: one silo, state in memory. Its output is forwarded line by line, prefixed
/// <c>[server]</c>, and the last lines are kept for error messages.
/// </summary>
internal sealed class ServerChild : IAsyncDisposable
{
    public const string ServerAssembly = "ControlPlane.Server.dll";

    /// <summary>The heartbeat interval the demo's server asks for, so that failures show within seconds.</summary>
    public const int HeartbeatIntervalSeconds = 2;

    private const int TailLines = 40;

    private readonly Process _process;
    private readonly TextWriter _output;
    private readonly Queue<string> _tail = new();
    private readonly Task _exited;

    private ServerChild(Process process, Uri baseAddress, string dataDirectory, TextWriter output)
    {
        _process = process;
        _output = output;
        BaseAddress = baseAddress;
        OperatorTokenFile = Path.Combine(dataDirectory, "operator-token");
        _process.OutputDataReceived += (_, e) => Forward(e.Data);
        _process.ErrorDataReceived += (_, e) => Forward(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _exited = _process.WaitForExitAsync();
    }

    /// <summary>The server's address, with a trailing '/'.</summary>
    public Uri BaseAddress { get; }

    public int ProcessId => _process.Id;

    /// <summary>Where the server keeps the operator token it generates on first start.</summary>
    public string OperatorTokenFile { get; }

    /// <summary>Completes when the server process has exited (and its output is read).</summary>
    public Task Exited => _exited;

    public bool HasExited => _exited.IsCompleted;

    public int ExitCode => _process.ExitCode;

    /// <summary>The last lines the server printed.</summary>
    public string OutputTail
    {
        get
        {
            lock (_tail)
            {
                return string.Join(Environment.NewLine, _tail);
            }
        }
    }

    /// <summary>Starts <c>dotnet ControlPlane.Server.dll</c> on 127.0.0.1:<paramref name="port"/>, keeping its data in <paramref name="dataDirectory"/>.</summary>
    /// <param name="settings">More configuration for the server, as environment variables (<c>Section__Key</c>), over the demo's own.</param>
    public static ServerChild Start(int port, string dataDirectory, TextWriter output, IReadOnlyDictionary<string, string>? settings = null)
    {
        var serverDll = Path.Combine(AppContext.BaseDirectory, ServerAssembly);
        if (!File.Exists(serverDll))
        {
            throw new ServerChildException($"{serverDll} is missing: build the simulator with its reference to ControlPlane.Server");
        }

        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(serverDll);
        var url = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = url,
            ["Storage__DataDirectory"] = dataDirectory,
            ["Fleet__HeartbeatIntervalSeconds"] = HeartbeatIntervalSeconds.ToString(CultureInfo.InvariantCulture),
            ["Metrics__FleetRefreshSeconds"] = "2",
            // The console's capacity history every 10 s (2 hours of it), so each 45 s spike shows in it.
            ["Console__CapacitySampleSeconds"] = "10",
            ["Console__CapacityHistoryHours"] = "2",

            // Free ports for the silo, so the demo runs beside another local silo (which takes 11111 and 30000).
            ["Clustering__SiloPort"] = FreePort().ToString(CultureInfo.InvariantCulture),
            ["Clustering__GatewayPort"] = FreePort().ToString(CultureInfo.InvariantCulture),

            // One line per record, so every server line carries its [server] prefix.
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss ",

            // Its first check after start-up can report a stall that did not happen; noise for a newcomer.
            ["Logging__LogLevel__Orleans.Runtime.Watchdog"] = "Error",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new ServerChildException($"could not start {info.FileName} {serverDll}");
        }
        catch (Win32Exception e)
        {
            throw new ServerChildException($"could not start {info.FileName} {serverDll}: {e.Message}");
        }

        return new ServerChild(process, new Uri(url + "/"), dataDirectory, output);
    }

    /// <summary>Waits until <c>/health/ready</c> answers 200; throws with the server's output if it exits or takes longer than <paramref name="timeout"/>.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            if (HasExited)
            {
                throw Stopped("exited before it was ready");
            }

            try
            {
                using var response = await http.GetAsync("health/ready", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Listening, not answering yet.
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new ServerChildException($"the control plane was not ready within {timeout.TotalSeconds:0} s; its last output:{Environment.NewLine}{OutputTail}");
            }

            await Task.WhenAny(_exited, Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The operator token from the server's data directory, where it was generated on first start.</summary>
    public async Task<string> ReadOperatorTokenAsync(CancellationToken cancellationToken)
    {
        // The server writes the file before it listens, so after readiness it is there.
        var token = File.Exists(OperatorTokenFile) ? (await File.ReadAllTextAsync(OperatorTokenFile, cancellationToken)).Trim() : "";
        return token.Length > 0
            ? token
            : throw new ServerChildException($"the control plane is ready but {OperatorTokenFile} holds no operator token (is Auth__BootstrapToken set in this environment?)");
    }

    /// <summary>An error that says the server stopped, with its exit code and last output.</summary>
    public ServerChildException Stopped(string what) =>
        new($"the control plane {what} (exit code {ExitCode}); its last output:{Environment.NewLine}{OutputTail}");

    /// <summary>Kills the server and everything it started; nothing of its in-memory state is worth a graceful stop.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception)
        {
            // Already gone.
        }

        await _exited.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _process.Dispose();
    }

    private void Forward(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tail)
        {
            _tail.Enqueue(line);
            if (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }

        _output.WriteLine("[server] " + line);
    }

    private static string DotnetHost()
    {
        // Set by the dotnet CLI for what it starts (dotnet run, dotnet test): the same dotnet that built us.
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
