using ControlPlane.Grains.Deployments;
using ControlPlane.Grains.Metering;
using ControlPlane.Server.Storage;
using ControlPlane.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Storage;
using Orleans.TestingHost;
using Xunit;

namespace ControlPlane.Grains.Tests.Storage;

/// <summary>
/// A one-silo cluster whose grain storage is the real PostgreSQL one behind a <see cref="FaultInjectingGrainStorage"/>:
/// a test makes the next write or read of one grain fail, or a call of one of its methods (<see cref="Faults"/>), and
/// checks what the silo logged (<see cref="Log"/>). Reminders are in PostgreSQL too.
/// </summary>
public sealed class FaultyStoreClusterFixture(PostgresFixture postgres) : IAsyncLifetime
{
    private const string RealStore = "postgres";

    private InProcessTestCluster? _cluster;

    public InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("Not initialised.");

    public InjectedFaults Faults { get; } = new();

    public LogRecorder Log { get; } = new();

    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        ConnectionString = await postgres.CreateDatabaseAsync("faulty_store");
        await new PostgresMigrator().MigrateAsync(ConnectionString, CancellationToken.None);

        var connectionString = ConnectionString;
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddAdoNetGrainStorage(RealStore, o =>
            {
                o.Invariant = PostgresMigrator.Invariant;
                o.ConnectionString = connectionString;
            });
            silo.Services.AddKeyedSingleton<IGrainStorage>("store", (services, _) =>
                new FaultInjectingGrainStorage(services.GetRequiredKeyedService<IGrainStorage>(RealStore), Faults));
            // Usage buckets keep their state in their own store: the same faults, injected in front of it (registered
            // last, so it is the one grains get).
            silo.Services.AddPostgresUsageBucketStore(connectionString);
            silo.Services.AddSingleton<IUsageBucketStore>(services => new FaultInjectingUsageBucketStore(
                new PostgresUsageBucketStore(
                    services.GetRequiredKeyedService<NpgsqlDataSource>(typeof(IUsageBucketStore)),
                    services.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId),
                Faults));
            silo.AddIncomingGrainCallFilter(async call =>
            {
                if (Faults.TakeCall(call.TargetId, call.MethodName))
                {
                    throw new InjectedFault($"injected failure of {call.MethodName} on {call.TargetId}");
                }

                await call.Invoke();
            });
            silo.UseAdoNetReminderService(o =>
            {
                o.Invariant = PostgresMigrator.Invariant;
                o.ConnectionString = connectionString;
            });
            silo.Services.AddSingleton(TimeProvider.System);
            // As the server registers it: node grains report the heartbeats they accept to the scheduler through it.
            silo.Services.AddSingleton<ControlPlane.Grains.Fleet.NodeLivenessReporter>();
            silo.Services.AddHostedService(sp => sp.GetRequiredService<ControlPlane.Grains.Fleet.NodeLivenessReporter>());
            silo.Services.AddSingleton<PriceListCache>();
            // As the server registers them: outboxes post with the real HTTP transport (tests point webhooks at a closed
            // port: deliveries fail and wait an hour), and contracts check their commit thresholds at once after usage.
            silo.Services.AddHttpClient();
            silo.Services.AddSingleton<ControlPlane.Grains.Webhooks.IWebhookTransport, ControlPlane.Server.Webhooks.HttpWebhookTransport>();
            silo.Services.Configure<ControlPlane.Grains.Webhooks.WebhookOptions>(o =>
            {
                o.CommitCheckDelaySeconds = 0;
                o.InitialRetrySeconds = 3600;
            });
            // No forecast: desired replicas follow demand exactly, so a test knows the count.
            silo.Services.Configure<CapacityOptions>(o => o.ForecastHorizonSeconds = 0);
            silo.Services.AddLogging(logging => logging.AddProvider(Log));
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
        }
    }
}
