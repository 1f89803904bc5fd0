using System.Collections.Concurrent;
using ControlPlane.Grains.Commits;
using ControlPlane.Grains.Deployments;
using ControlPlane.Grains.Metering;
using ControlPlane.Server.Storage;
using ControlPlane.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Xunit;

namespace ControlPlane.Grains.Tests.Storage;

/// <summary>
/// A three-silo cluster in one process, its grain state and reminders in the real PostgreSQL, so a test can stop the
/// silo that holds a grain and see another activation take over from storage. Every silo records the grain calls it
/// takes (<see cref="Calls"/>): which silo, which grain, which method. A test class gets its own cluster (it may stop
/// and start silos); tests in it use fresh keys.
/// </summary>
public sealed class MultiSiloClusterFixture(PostgresFixture postgres) : IAsyncLifetime
{
    /// <summary>The price list's lease, short so a change waiting for one costs a test little.</summary>
    public const int PriceLeaseSeconds = 2;

    private InProcessTestCluster? _cluster;

    public InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("Not initialised.");

    public GrainCalls Calls { get; } = new();

    public async ValueTask InitializeAsync()
    {
        var connectionString = await postgres.CreateDatabaseAsync("multi_silo");
        await new PostgresMigrator().MigrateAsync(connectionString, CancellationToken.None);

        var calls = Calls;
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((options, silo) =>
        {
            var siloName = options.SiloName;
            silo.AddAdoNetGrainStorage("store", o =>
            {
                o.Invariant = PostgresMigrator.Invariant;
                o.ConnectionString = connectionString;
            });
            silo.Services.AddPostgresUsageBucketStore(connectionString);
            silo.UseAdoNetReminderService(o =>
            {
                o.Invariant = PostgresMigrator.Invariant;
                o.ConnectionString = connectionString;
            });
            silo.AddIncomingGrainCallFilter(async call =>
            {
                calls.Record(siloName, call.TargetId, call.MethodName);
                await call.Invoke();
            });
            silo.Services.AddSingleton(TimeProvider.System);
            silo.Services.AddSingleton<ControlPlane.Grains.Fleet.NodeLivenessReporter>();
            silo.Services.AddHostedService(sp => sp.GetRequiredService<ControlPlane.Grains.Fleet.NodeLivenessReporter>());
            silo.Services.AddSingleton<PriceListCache>();
            silo.Services.Configure<BillingOptions>(o => o.PriceCacheLeaseSeconds = PriceLeaseSeconds);
            // No forecast: desired replicas follow demand exactly, so a test knows the count.
            silo.Services.Configure<CapacityOptions>(o => o.ForecastHorizonSeconds = 0);
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    /// <summary>The grain factory of one silo: a stateless worker called through it runs on that silo.</summary>
    public IGrainFactory GrainsOf(InProcessSiloHandle silo) => silo.ServiceProvider.GetRequiredService<IGrainFactory>();

    /// <summary>The running silo that last took a call for <paramref name="grain"/> (where it is active).</summary>
    public InProcessSiloHandle SiloOf(IAddressable grain)
    {
        var name = Calls.LastSiloOf(grain.GetGrainId()) ?? throw new InvalidOperationException($"No silo took a call for {grain.GetGrainId()}.");
        return Cluster.Silos.Single(s => s.Name == name);
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

/// <summary>The grain calls each silo took, counted by grain and method, and the silo that last took each grain's.</summary>
public sealed class GrainCalls
{
    private readonly ConcurrentDictionary<(GrainId Grain, string Method), int> _counts = new();
    private readonly ConcurrentDictionary<GrainId, string> _lastSilo = new();

    public void Record(string silo, GrainId grain, string method)
    {
        _counts.AddOrUpdate((grain, method), 1, (_, n) => n + 1);
        _lastSilo[grain] = silo;
    }

    /// <summary>How many calls <paramref name="grain"/> took (of <paramref name="method"/> only, when given), on every silo.</summary>
    public int Count(IAddressable grain, string? method = null)
    {
        var id = grain.GetGrainId();
        return _counts.Where(c => c.Key.Grain == id && (method is null || c.Key.Method == method)).Sum(c => c.Value);
    }

    public string? LastSiloOf(GrainId grain) => _lastSilo.TryGetValue(grain, out var silo) ? silo : null;
}
