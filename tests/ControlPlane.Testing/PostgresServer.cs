using System.Diagnostics;
using System.Text.RegularExpressions;
using Npgsql;

namespace ControlPlane.Testing;

/// <summary>
/// A throw-away PostgreSQL server for tests: a fresh data directory under /tmp, loopback only, trust
/// authentication, fsync off, time zone +05:30. Started from the local install (<c>/usr/lib/postgresql/*/bin</c>, newest);
/// <c>./test.sh</c> installs it when missing. Disposal stops the server and deletes its directory.
/// </summary>
public sealed partial class PostgresServer : IAsyncDisposable
{
    private const string InstallRoot = "/usr/lib/postgresql";
    private const string SuperUser = "postgres";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly string _binDirectory;
    private readonly string _rootDirectory;
    private Process _process;
    private OutputTail _log;
    private bool _stopped;
    private int _disposed;

    private PostgresServer(string binDirectory, string rootDirectory, int port, Process process, OutputTail log)
    {
        _binDirectory = binDirectory;
        _rootDirectory = rootDirectory;
        Port = port;
        _process = process;
        _log = log;
    }

    /// <summary>The loopback TCP port the server listens on.</summary>
    public int Port { get; }

    /// <summary>The major version of the server binaries, e.g. 15.</summary>
    public int MajorVersion => int.Parse(Path.GetFileName(Path.GetDirectoryName(_binDirectory))!);

    private string DataDirectory => Path.Combine(_rootDirectory, "data");

    /// <summary>A connection string for <paramref name="database"/> as the superuser.</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = SuperUser,
        Database = database,
        IncludeErrorDetail = true,
        // Many test classes share one server: keep idle connections few so they don't hit max_connections.
        MaxPoolSize = 20,
        ConnectionIdleLifetime = 10,
    }.ConnectionString;

    /// <summary>Initialises a data directory and starts a server on a free loopback port.</summary>
    public static async Task<PostgresServer> StartAsync(CancellationToken ct = default)
    {
        var binDirectory = FindBinDirectory();
        var rootDirectory = Path.Combine(Path.GetTempPath(), $"controlplane-pg-{Guid.NewGuid():N}"[..28]);
        Directory.CreateDirectory(rootDirectory);
        try
        {
            if (ChildProcess.IsRoot)
            {
                // PostgreSQL refuses to run as root: the server runs as postgres and must own its directory.
                await ChildProcess.RunAsync("chown", [$"{SuperUser}:", rootDirectory], asPostgres: false, TimeSpan.FromSeconds(10));
            }

            var dataDirectory = Path.Combine(rootDirectory, "data");
            await ChildProcess.RunAsync(
                Path.Combine(binDirectory, "initdb"),
                ["-D", dataDirectory, "-U", SuperUser, "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions"],
                asPostgres: true,
                TimeSpan.FromSeconds(120));

            // The port can be taken between choosing and binding it: try a few.
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort.Next();
                var (process, log) = StartProcess(binDirectory, rootDirectory, port);
                var server = new PostgresServer(binDirectory, rootDirectory, port, process, log);
                try
                {
                    await server.WaitUntilReadyAsync(ct);
                    return server;
                }
                catch (PostgresStartException) when (attempt < 3 && log.ToString().Contains("could not bind", StringComparison.Ordinal))
                {
                    await server.StopProcessAsync();
                }
                catch
                {
                    await server.StopProcessAsync();
                    throw;
                }
            }
        }
        catch
        {
            TryDelete(rootDirectory);
            throw;
        }
    }

    /// <summary>Creates an empty database and returns a connection string for it.</summary>
    /// <param name="name">A database name: letters, digits and underscores (lower-cased).</param>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken ct = default)
    {
        if (!DatabaseName().IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a valid test database name (letters, digits, '_'; at most 63).", nameof(name));
        }

        name = name.ToLowerInvariant();
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync(ct);
        return ConnectionString(name);
    }

    /// <summary>
    /// Stops the server for a test of a database outage: every connection is cut and new ones are refused until
    /// <see cref="StartAgainAsync"/> brings it back on the same port. A fast shutdown, not an immediate one: with
    /// <c>synchronous_commit=off</c> (above) a crash may lose the last commits, which a real server would not.
    /// </summary>
    public async Task StopAsync()
    {
        await StopProcessAsync(mode: "fast");
    }

    /// <summary>Starts the server again after <see cref="StopAsync"/>, on the same port and data, and waits until it accepts connections.</summary>
    public async Task StartAgainAsync(CancellationToken ct = default)
    {
        if (!_stopped)
        {
            throw new InvalidOperationException("PostgreSQL is running; stop it first.");
        }

        (_process, _log) = StartProcess(_binDirectory, _rootDirectory, Port);
        _stopped = false;
        await WaitUntilReadyAsync(ct);
    }

    /// <summary>Stops the server at once (no shutdown checkpoint: the data is thrown away) and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopProcessAsync();
        TryDelete(_rootDirectory);
    }

    private static string FindBinDirectory()
    {
        var candidates = Directory.Exists(InstallRoot)
            ? Directory.GetDirectories(InstallRoot)
                .Where(d => int.TryParse(Path.GetFileName(d), out _) && File.Exists(Path.Combine(d, "bin", "postgres")))
                .OrderByDescending(d => int.Parse(Path.GetFileName(d)))
                .ToList()
            : [];

        return candidates.Count > 0
            ? Path.Combine(candidates[0], "bin")
            : throw new InvalidOperationException(
                $"PostgreSQL is not installed (no {InstallRoot}/*/bin/postgres). Run ./test.sh from the repository root: it installs it.");
    }

    private static (Process Process, OutputTail Log) StartProcess(string binDirectory, string rootDirectory, int port)
    {
        var info = ChildProcess.StartInfo(
            Path.Combine(binDirectory, "postgres"),
            [
                "-D", Path.Combine(rootDirectory, "data"),
                "-k", rootDirectory,
                "-h", "127.0.0.1",
                "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                // Durability is worthless for a server that is deleted after the test run.
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
                "-c", "max_connections=200",
                "-c", "shared_buffers=32MB",
                // Not UTC on purpose (and a half-hour offset): a DateTime written without its kind to a
                // timestamptz column is read in the session's zone, and that bug should fail tests here.
                "-c", "timezone=Asia/Kolkata",
            ],
            asPostgres: true);

        var log = new OutputTail();
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {ChildProcess.Describe(info)}.");
        process.StandardInput.Close();
        log.Attach(process);
        return (process, log);
    }

    private async Task WaitUntilReadyAsync(CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        Exception? last = null;
        while (deadline.Elapsed < StartTimeout)
        {
            ct.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new PostgresStartException(
                    $"PostgreSQL exited with code {_process.ExitCode} while starting on port {Port}. Server log:{Environment.NewLine}{ChildProcess.Tail(_log.ToString())}");
            }

            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString() + ";Pooling=false;Timeout=5");
                await connection.OpenAsync(ct);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
            {
                last = e;
            }

            await Task.Delay(100, ct);
        }

        throw new PostgresStartException(
            $"PostgreSQL did not accept connections on port {Port} within {StartTimeout.TotalSeconds:F0} s ({last?.Message}). Server log:{Environment.NewLine}{ChildProcess.Tail(_log.ToString())}");
    }

    private async Task StopProcessAsync(string mode = "immediate")
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        if (!_process.HasExited)
        {
            try
            {
                await ChildProcess.RunAsync(
                    Path.Combine(_binDirectory, "pg_ctl"),
                    ["stop", "-D", DataDirectory, "-m", mode, "-w", "-t", "30"],
                    asPostgres: true,
                    TimeSpan.FromSeconds(40));
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                // Not started far enough for pg_ctl to know it: fall through to killing it.
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }
        }

        _process.Dispose();
        NpgsqlConnection.ClearAllPools();
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
    private static partial Regex DatabaseName();
}

/// <summary>PostgreSQL did not come up; the message carries the tail of the server's log.</summary>
public sealed class PostgresStartException(string message) : Exception(message);
