using Azure.Core;
using Azure.Data.Tables;
using ControlPlane.Server.Options;
using ControlPlane.Server.Storage;
using Npgsql;

namespace ControlPlane.Server.Hosting;

/// <summary>Checks the external stores before the silo starts, so an unreachable one is named plainly.</summary>
public static class StorageStartup
{
    public static async Task<IReadOnlyList<string>> MigrateAsync(StorageOptions storage, ILoggerFactory loggers, CancellationToken ct)
    {
        try
        {
            return await new PostgresMigrator(loggers.CreateLogger<PostgresMigrator>()).MigrateAsync(storage.ConnectionString!, ct);
        }
        catch (PostgresSchemaException e)
        {
            throw new StartupException(e.Message, e);
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            throw new StartupException($"Cannot migrate the PostgreSQL database ({Describe(storage.ConnectionString!)}): {Innermost(e).Message}", e);
        }
    }

    public static async Task<IReadOnlyList<string>> RestoreQueriesAsync(StorageOptions storage, ILoggerFactory loggers, CancellationToken ct)
    {
        try
        {
            return await new PostgresMigrator(loggers.CreateLogger<PostgresMigrator>()).RestoreQueriesAsync(storage.ConnectionString!, ct);
        }
        catch (PostgresSchemaException e)
        {
            throw new StartupException(e.Message, e);
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            throw new StartupException($"Cannot reach PostgreSQL ({Describe(storage.ConnectionString!)}): {Innermost(e).Message}", e);
        }
    }

    /// <summary>
    /// Checks that the Orleans providers will find every query they need, each as the migrations installed
    /// it (or only present, on a schema <c>Storage:UnmanagedSchema</c> accepts), before the silo starts.
    /// </summary>
    /// <returns>A warning to print, or null.</returns>
    public static async Task<string?> CheckPostgresAsync(StorageOptions storage, CancellationToken ct)
    {
        try
        {
            await using var connection = new NpgsqlConnection(storage.ConnectionString);
            await connection.OpenAsync(ct);
            return await PostgresSchema.CheckQueriesAsync(connection, storage.UnmanagedSchema, ct);
        }
        catch (PostgresSchemaException e)
        {
            throw new StartupException(e.Message, e);
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            throw new StartupException($"Cannot reach PostgreSQL ({Describe(storage.ConnectionString!)}): {Innermost(e).Message}", e);
        }
    }

    public static async Task CheckAzureTableAsync(ClusteringOptions clustering, CancellationToken ct)
    {
        var clientOptions = new TableClientOptions();
        clientOptions.Retry.MaxRetries = 1;
        clientOptions.Retry.Mode = RetryMode.Fixed;
        clientOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(5);
        try
        {
            var client = AzureTableClients.Create(clustering, clientOptions);
            await foreach (var _ in client.QueryAsync(maxPerPage: 1, cancellationToken: ct))
            {
                break;
            }
        }
        catch (Exception e) when (e is Azure.RequestFailedException or Azure.Identity.AuthenticationFailedException or AggregateException or System.Net.Http.HttpRequestException or TaskCanceledException)
        {
            throw new StartupException($"Cannot reach Azure Table storage for clustering ({AzureTableClients.Describe(clustering)}): {Innermost(e).Message}", e);
        }
    }

    private static string Describe(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"host {builder.Host}:{builder.Port}, database {builder.Database}";
    }

    private static Exception Innermost(Exception e) => e.InnerException is null ? e : Innermost(e.InnerException);
}
