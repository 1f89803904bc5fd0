using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Concurrency;

namespace ControlPlane.Server.Hosting;

/// <summary>A grain on this silo that answers a ping: the silo runs and schedules grain calls.</summary>
[Alias("IHealthProbeGrain")]
public interface IHealthProbeGrain : IGrainWithIntegerKey
{
    [Alias("PingAsync")]
    Task PingAsync();
}

[StatelessWorker(1)]
public sealed class HealthProbeGrain : Grain, IHealthProbeGrain
{
    public Task PingAsync() => Task.CompletedTask;
}

/// <summary>Ready once the local silo takes grain calls (it has joined the cluster and its storage answered).</summary>
public sealed class SiloHealthCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await grains.GetGrain<IHealthProbeGrain>(0).PingAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The silo does not take grain calls yet.", e);
        }
    }
}

/// <summary>Whether PostgreSQL answers (grain state and reminders live there); registered as degraded, never unready.</summary>
public sealed class PostgresHealthCheck(string connectionString) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = new Npgsql.NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new Npgsql.NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            // The registration's failure status (degraded): readiness must not hang on the database.
            return new HealthCheckResult(context.Registration.FailureStatus, "PostgreSQL does not answer.", e);
        }
    }
}
