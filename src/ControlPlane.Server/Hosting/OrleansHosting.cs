using System.Net;
using ControlPlane.Grains.Fleet;
using ControlPlane.Grains.Metering;
using ControlPlane.Server.Storage;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace ControlPlane.Server.Hosting;

public static class OrleansHosting
{
    public const string StorageName = "store";

    /// <summary>The silo, with clustering, grain storage and reminders chosen by configuration.</summary>
    public static IHostApplicationBuilder AddControlPlaneSilo(this IHostApplicationBuilder builder, ControlPlaneSettings settings)
    {
        var clustering = settings.Clustering;
        var storage = settings.Storage;
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clustering.ClusterId;
                o.ServiceId = clustering.ServiceId;
            });

            if (clustering.IsAzureTable)
            {
                silo.UseAzureStorageClustering(o => o.TableServiceClient = AzureTableClients.Create(clustering));
                silo.Configure<EndpointOptions>(o =>
                {
                    o.SiloPort = clustering.SiloPort;
                    o.GatewayPort = clustering.GatewayPort;
                    if (clustering.AdvertisedIPAddress is not null)
                    {
                        o.AdvertisedIPAddress = IPAddress.Parse(clustering.AdvertisedIPAddress);
                    }
                });
            }
            else
            {
                silo.UseLocalhostClustering(clustering.SiloPort, clustering.GatewayPort, null, clustering.ServiceId, clustering.ClusterId);
            }

            if (storage.IsPostgres)
            {
                silo.AddAdoNetGrainStorage(StorageName, o =>
                {
                    o.Invariant = PostgresMigrator.Invariant;
                    o.ConnectionString = storage.ConnectionString;
                });
                // The same provider, its database failures thrown as our own exception type (registered last, so it
                // is the one grains get; the provider's start-up goes through it).
                silo.Services.AddKeyedSingleton<IGrainStorage>(
                    StorageName,
                    (sp, name) => new TranslatingGrainStorage(AdoNetGrainStorageFactory.Create(sp, (string)name!)));
                silo.Services.AddPostgresUsageBucketStore(storage.ConnectionString!);
                silo.UseAdoNetReminderService(o =>
                {
                    o.Invariant = PostgresMigrator.Invariant;
                    o.ConnectionString = storage.ConnectionString;
                });
            }
            else
            {
                silo.AddMemoryGrainStorage(StorageName);
                silo.Services.AddMemoryUsageBucketStore();
                silo.UseInMemoryReminderService();
            }

            // A storage failure crosses silos as our own exception type, never as the driver's (which no silo can read back);
            // should one slip through all the same (a reminder registered while a grain activates), it crosses as what it
            // is, or as Orleans' stand-in for an exception type it cannot rebuild, but never as a serializer failure.
            silo.AddIncomingGrainCallFilter<StorageFailures>();
            if (settings.Tracing.IsEnabled(builder.Configuration))
            {
                // A grain call continues the caller's trace (an HTTP request's, another grain's) on whichever silo it runs.
                silo.AddActivityPropagation();
            }

            silo.Services.Configure<ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add("Npgsql"));
            silo.Services.AddSingleton<NodeLivenessReporter>();
            silo.Services.AddHostedService(sp => sp.GetRequiredService<NodeLivenessReporter>());
            // The usage ingest prices batches from this silo's leased copy of the price list, never calling it per batch.
            silo.Services.AddSingleton<PriceListCache>();

            // Node watchdogs, quarter-close checks and webhook outboxes may tick faster than Orleans' one-minute default (tests,
            // small fleets).
            var fastest = TimeSpan.FromSeconds(Math.Min(
                Math.Min(settings.Fleet.WatchdogPeriodSeconds, settings.Billing.AutoCloseCheckSeconds),
                settings.Webhooks.ReminderSeconds));
            silo.Configure<ReminderOptions>(o =>
            {
                if (fastest < o.MinimumReminderPeriod)
                {
                    o.MinimumReminderPeriod = fastest;
                }

                // A silo takes over a dead silo's reminders when the ring changes; should that read fail (a busy database),
                // the next periodic refresh is the fallback, by default five minutes later. The node watchdog is what
                // finds a silent node whose grain died with its silo, so the refresh comes within a watchdog period or two
                // (at least 10 s apart): one range read per silo each time.
                var refresh = TimeSpan.FromSeconds(Math.Max(10, 2 * settings.Fleet.WatchdogPeriodSeconds));
                if (refresh < o.RefreshReminderListPeriod)
                {
                    o.RefreshReminderListPeriod = refresh;
                }
            });
        });
        return builder;
    }
}
