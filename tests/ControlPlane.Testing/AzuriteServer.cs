using System.Diagnostics;
using System.Globalization;

namespace ControlPlane.Testing;

/// <summary>
/// Azurite's Table service on a free loopback port, in memory, for tests of Azure Table storage
/// (Orleans clustering). Runs the launcher that <c>./test.sh</c> installs into <c>tools/node_modules</c>.
/// Disposal kills the process tree and deletes its workspace.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    // The emulator's well-known development account: public, and accepted by Azurite only.
    private const string AccountName = "devstoreaccount1";
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly OutputTail _log;
    private readonly string _workspace;
    private int _disposed;

    private readonly string _scheme;

    private AzuriteServer(Process process, OutputTail log, string workspace, int port, string scheme)
    {
        _process = process;
        _log = log;
        _workspace = workspace;
        Port = port;
        _scheme = scheme;
    }

    /// <summary>The loopback TCP port of the Table endpoint.</summary>
    public int Port { get; }

    /// <summary>The Table endpoint, e.g. <c>http://127.0.0.1:51234/devstoreaccount1</c>.</summary>
    public Uri TableEndpoint => new($"{_scheme}://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/{AccountName}");

    /// <summary>A storage connection string for the development account, with only a Table endpoint.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol={_scheme};AccountName={AccountName};AccountKey={AccountKey};TableEndpoint={TableEndpoint};";

    /// <summary>Starts Azurite's Table service and waits until its port answers.</summary>
    public static Task<AzuriteServer> StartAsync(CancellationToken ct = default) => StartAsync([], "http", ct);

    /// <summary>
    /// Starts Azurite's Table service on HTTPS with <paramref name="certificate"/>, accepting Entra ID bearer tokens as
    /// well as the account key (<c>--oauth basic</c>: issuer, audience and lifetime are checked, the signature is not;
    /// Azurite takes bearer tokens over HTTPS only).
    /// </summary>
    public static Task<AzuriteServer> StartWithOAuthAsync(TestCertificate certificate, CancellationToken ct = default) =>
        StartAsync(["--cert", certificate.CertificatePath, "--key", certificate.KeyPath, "--oauth", "basic"], "https", ct);

    private static async Task<AzuriteServer> StartAsync(string[] extraArguments, string scheme, CancellationToken ct)
    {
        var launcher = FindLauncher();
        var workspace = Directory.CreateTempSubdirectory("controlplane-azurite-").FullName;
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Next();
            var info = new ProcessStartInfo
            {
                // node itself rather than a shim, so the process we watch and kill is the server.
                FileName = "node",
                WorkingDirectory = workspace,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (var argument in (string[])
                [
                    launcher,
                    "--tableHost", "127.0.0.1",
                    "--tablePort", port.ToString(CultureInfo.InvariantCulture),
                    // Azurite refuses --location with this; its working directory is the temp workspace instead.
                    "--inMemoryPersistence",
                    "--disableTelemetry",
                    // Azure.Data.Tables may speak a newer service version than this Azurite knows.
                    "--skipApiVersionCheck",
                    "--loose",
                    .. extraArguments,
                ])
            {
                info.ArgumentList.Add(argument);
            }

            Process process;
            try
            {
                process = Process.Start(info) ?? throw new InvalidOperationException("Could not start node.");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                Directory.Delete(workspace, recursive: true);
                throw new InvalidOperationException("Could not start node for Azurite: is Node.js installed? Run ./test.sh.", e);
            }

            process.StandardInput.Close();
            var log = new OutputTail();
            log.Attach(process);
            var server = new AzuriteServer(process, log, workspace, port, scheme);
            try
            {
                await server.WaitUntilListeningAsync(ct);
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3 && log.ToString().Contains("EADDRINUSE", StringComparison.Ordinal))
            {
                await server.StopProcessAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>The script behind <c>tools/node_modules/.bin/azurite-table</c> (npm links it there).</summary>
    private static string FindLauncher()
    {
        var shim = Path.Combine(RepoPaths.Tools, "node_modules", ".bin", "azurite-table");
        var script = File.Exists(shim) ? File.ResolveLinkTarget(shim, returnFinalTarget: true)?.FullName ?? shim : null;
        return script is not null && File.Exists(script)
            ? script
            : throw new InvalidOperationException(
                $"Azurite is not installed ({shim} is missing). Run ./test.sh from the repository root " +
                "(or `npm ci --prefix tools`): it installs it.");
    }

    /// <summary>Kills the server and deletes its workspace.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopProcessAsync();
        try
        {
            Directory.Delete(_workspace, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task WaitUntilListeningAsync(CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"Azurite exited with code {_process.ExitCode} while starting on port {Port}. Output:{Environment.NewLine}{ChildProcess.Tail(_log.ToString())}");
            }

            if (await FreePort.IsListeningAsync(Port, ct))
            {
                return;
            }

            await Task.Delay(100, ct);
        }

        throw new InvalidOperationException(
            $"Azurite did not listen on port {Port} within {StartTimeout.TotalSeconds:F0} s. Output:{Environment.NewLine}{ChildProcess.Tail(_log.ToString())}");
    }

    private async Task StopProcessAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync(CancellationToken.None);
        _process.Dispose();
    }
}
