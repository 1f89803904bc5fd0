using System.Net;
using System.Net.Sockets;
using ControlPlane.Server.Auth;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Server.Hosting;

/// <summary>What Program.cs does around the host: the <c>migrate</c> command, store checks, the start banner.</summary>
public static class ServerCommands
{
    /// <summary>
    /// <c>migrate</c>: applies the migrations, then checks the queries the providers will run, so a migration
    /// job fails where a silo would refuse to start. <c>migrate --restore-queries</c> writes back query rows
    /// changed since the migrations installed them.
    /// </summary>
    public static async Task<int> MigrateAsync(ControlPlaneSettings settings, ILoggerFactory loggers, ConsoleOutput output, bool restoreQueries = false)
    {
        if (!settings.Storage.IsPostgres)
        {
            throw new StartupException("'migrate' needs Storage:Provider=postgres and Storage:ConnectionString.");
        }

        var applied = await StorageStartup.MigrateAsync(settings.Storage, loggers, CancellationToken.None);
        output.Info(applied.Count == 0
            ? "database is up to date"
            : $"applied {string.Join(", ", applied)}");
        if (restoreQueries)
        {
            var restored = await StorageStartup.RestoreQueriesAsync(settings.Storage, loggers, CancellationToken.None);
            output.Info(restored.Count == 0
                ? "every Orleans query is as the migrations installed it"
                : $"restored queries {string.Join(", ", restored)}");
        }

        var warning = await StorageStartup.CheckPostgresAsync(settings.Storage, CancellationToken.None);
        if (warning is not null)
        {
            output.Warning(warning);
        }

        return 0;
    }

    /// <summary>
    /// Fails fast, before the silo starts, when a port this server needs is taken: otherwise Orleans would
    /// start, Kestrel would fail to bind, and the operator would read a shutdown's worth of noise.
    /// </summary>
    public static void CheckPortsAreFree(IConfiguration configuration, ControlPlaneSettings settings)
    {
        var urls = (configuration["urls"] ?? "http://localhost:5000").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var url in urls)
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException e)
            {
                throw new StartupException($"'{url}' is not a URL to listen on: {e.Message}");
            }

            if (address.Port == 0 || address.IsUnixPipe)
            {
                continue;
            }

            var ip = address.Host switch
            {
                "localhost" => IPAddress.Loopback,
                "*" or "+" or "[::]" or "0.0.0.0" => IPAddress.Any,
                var host => IPAddress.TryParse(host.Trim('[', ']'), out var parsed) ? parsed : null,
            };
            if (ip is not null && !IsFree(ip, address.Port))
            {
                throw new StartupException($"Port {address.Port} of {url} is already in use: pass another with --urls (e.g. --urls http://127.0.0.1:5080).");
            }
        }

        // Both silo ports are checked before either is reported, so one attempt names every port to change.
        var taken = new[] { ("Clustering:SiloPort", settings.Clustering.SiloPort), ("Clustering:GatewayPort", settings.Clustering.GatewayPort) }
            .Where(p => !IsFree(IPAddress.Any, p.Item2))
            .ToArray();
        if (taken.Length > 0)
        {
            var ports = string.Join(" and ", taken.Select(p => $"{p.Item2} ({p.Item1})"));
            var flags = string.Join(" ", taken.Select(p => $"--{p.Item1} {p.Item2 + 1}"));
            throw new StartupException(
                $"{(taken.Length == 1 ? "Port" : "Ports")} {ports} {(taken.Length == 1 ? "is" : "are")} already in use, perhaps by another silo on this machine: choose free ones, e.g. {flags}.");
        }
    }

    private static bool IsFree(IPAddress ip, int port)
    {
        try
        {
            using var listener = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(ip, port));
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return false;
        }
    }

    public static async Task PrepareStoresAsync(ControlPlaneSettings settings, ILoggerFactory loggers, ConsoleOutput output)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        if (settings.Storage.IsPostgres)
        {
            if (settings.Storage.MigrateOnStartup)
            {
                await StorageStartup.MigrateAsync(settings.Storage, loggers, timeout.Token);
            }

            var warning = await StorageStartup.CheckPostgresAsync(settings.Storage, timeout.Token);
            if (warning is not null)
            {
                output.Warning(warning);
            }
        }

        if (settings.Clustering.IsAzureTable)
        {
            await StorageStartup.CheckAzureTableAsync(settings.Clustering, timeout.Token);
        }
    }

    /// <summary>Runs the host; a port already taken is a start-up problem to name, not a crash.</summary>
    public static async Task RunAsync(WebApplication app)
    {
        try
        {
            await app.RunAsync();
        }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            throw new StartupException($"{e.Message} Pass another with --urls (e.g. --urls http://127.0.0.1:5080).", e);
        }
        catch (Exception e) when (e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }
            || e.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
        {
            throw new StartupException($"A silo port is already in use ({e.Message}). Set Clustering:SiloPort and Clustering:GatewayPort to free ports.", e);
        }
    }

    public static void PrintBanner(WebApplication app, ControlPlaneSettings settings, OperatorToken token, ConsoleOutput output)
    {
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var urls = string.Join(", ", app.Urls);
            output.Info($"listening on {urls}");
            output.Info($"storage {settings.Storage.Provider}, clustering {settings.Clustering.Provider}{(settings.Tracing.Destination(app.Configuration) is { } traces ? ", traces to " + traces : "")}");
            if (!settings.Storage.IsPostgres)
            {
                output.Warning("grain state and reminders are in memory: nothing survives a restart (set Storage:Provider=postgres for durable state)");
            }

            if (settings.Diagnostics.LoadBaselines)
            {
                output.Warning("/diagnostics/v1 is mapped (Diagnostics:LoadBaselines): unauthenticated baseline endpoints for load tests; never on a production server");
            }

            if (token.GeneratedFile is not null)
            {
                output.Info($"operator token {token.Value} ({(token.Generated ? "generated into" : "kept in")} {token.GeneratedFile})");
            }

            output.Info("try  curl -H \"Authorization: Bearer <operator token>\" " + (app.Urls.FirstOrDefault() ?? "http://localhost:5000") + "/admin/v1/nodes   (also /admin/v1/pools, /metrics, /openapi/v1.json)");
        });
    }
}
