using ControlPlane.Grains.Metering;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;

namespace ControlPlane.Server.Storage;

/// <summary>Registers where usage buckets keep their totals and the ids they counted (<see cref="IUsageBucketStore"/>).</summary>
public static class UsageBucketStorage
{
    /// <summary>PostgreSQL, in the tables of the project's migrations, keyed by the cluster's service id.</summary>
    public static IServiceCollection AddPostgresUsageBucketStore(this IServiceCollection services, string connectionString)
    {
        services.AddKeyedSingleton(typeof(IUsageBucketStore), (_, _) => NpgsqlDataSource.Create(connectionString));
        services.AddSingleton<IUsageBucketStore>(sp => new PostgresUsageBucketStore(
            sp.GetRequiredKeyedService<NpgsqlDataSource>(typeof(IUsageBucketStore)),
            sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId));
        return services;
    }

    /// <summary>This process's memory: the embedded server's, lost at a restart as the rest of its state.</summary>
    public static IServiceCollection AddMemoryUsageBucketStore(this IServiceCollection services) =>
        services.AddSingleton<IUsageBucketStore, MemoryUsageBucketStore>();
}
