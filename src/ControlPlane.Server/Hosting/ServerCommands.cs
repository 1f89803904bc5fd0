using ControlPlane.Server.Auth;

namespace ControlPlane.Server.Hosting;

/// <summary>What Program.cs does around the host: the <c>migrate</c> command, store checks, the start banner.</summary>
public static class ServerCommands
{
    public static async Task<int> MigrateAsync(ControlPlaneSettings settings, ILoggerFactory loggers)
    {
        if (!settings.Storage.IsPostgres)
        {
            throw new StartupException("'migrate' needs Storage:Provider=postgres and Storage:ConnectionString.");
        }

        var applied = await StorageStartup.MigrateAsync(settings.Storage, loggers, CancellationToken.None);
        Console.WriteLine(applied.Count == 0
            ? "controlplane: database is up to date"
            : $"controlplane: applied {string.Join(", ", applied)}");
        return 0;
    }

    public static async Task PrepareStoresAsync(ControlPlaneSettings settings, ILoggerFactory loggers)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        if (settings.Storage.IsPostgres)
        {
            if (settings.Storage.MigrateOnStartup)
            {
                await StorageStartup.MigrateAsync(settings.Storage, loggers, timeout.Token);
            }
            else
            {
                await StorageStartup.CheckPostgresAsync(settings.Storage, timeout.Token);
            }
        }

        if (settings.Clustering.IsAzureTable)
        {
            await StorageStartup.CheckAzureTableAsync(settings.Clustering, timeout.Token);
        }
    }

    public static void PrintBanner(WebApplication app, ControlPlaneSettings settings, OperatorToken token)
    {
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var urls = string.Join(", ", app.Urls);
            Console.WriteLine($"controlplane: listening on {urls}");
            Console.WriteLine($"controlplane: storage {settings.Storage.Provider}, clustering {settings.Clustering.Provider}");
            if (!settings.Storage.IsPostgres)
            {
                Console.WriteLine("controlplane: WARNING grain state and reminders are in memory: nothing survives a restart (set Storage:Provider=postgres for durable state)");
            }

            if (token.GeneratedFile is not null)
            {
                Console.WriteLine($"controlplane: operator token {token.Value} ({(token.Generated ? "generated into" : "kept in")} {token.GeneratedFile})");
            }

            Console.WriteLine("controlplane: try  curl -H \"Authorization: Bearer <operator token>\" " + (app.Urls.FirstOrDefault() ?? "http://localhost:5000") + "/admin/v1/nodes   (also /admin/v1/pools, /metrics, /openapi/v1.json)");
        });
    }
}
