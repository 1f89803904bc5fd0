using ControlPlane.Grains.Commits;
using ControlPlane.Grains.Deployments;
using ControlPlane.Grains.Fleet;
using ControlPlane.Grains.Webhooks;
using ControlPlane.Server.Options;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Hosting;

/// <summary>
/// The settings the silo is built from, read and validated before the host exists: Orleans providers
/// are chosen from them, so a bad value must stop start-up with a message rather than half-start a silo.
/// </summary>
public sealed record ControlPlaneSettings(
    StorageOptions Storage,
    ClusteringOptions Clustering,
    AuthOptions Auth,
    FleetOptions Fleet,
    BillingOptions Billing,
    CapacityOptions Capacity,
    DiagnosticsOptions Diagnostics,
    HostingOptions Hosting,
    RateLimitingOptions RateLimiting,
    TracingOptions Tracing,
    WebhookOptions Webhooks)
{
    public static ControlPlaneSettings Read(IConfiguration configuration)
    {
        var storage = Bind<StorageOptions>(configuration, StorageOptions.SectionName);
        var clustering = Bind<ClusteringOptions>(configuration, ClusteringOptions.SectionName);
        var auth = Bind<AuthOptions>(configuration, AuthOptions.SectionName);
        var fleet = Bind<FleetOptions>(configuration, FleetOptions.SectionName);
        var billing = Bind<BillingOptions>(configuration, BillingOptions.SectionName);
        var capacity = Bind<CapacityOptions>(configuration, CapacityOptions.SectionName);
        var diagnostics = Bind<DiagnosticsOptions>(configuration, DiagnosticsOptions.SectionName);
        var hosting = Bind<HostingOptions>(configuration, HostingOptions.SectionName);
        var rateLimiting = Bind<RateLimitingOptions>(configuration, RateLimitingOptions.SectionName);
        var tracing = Bind<TracingOptions>(configuration, TracingOptions.SectionName);
        var webhooks = Bind<WebhookOptions>(configuration, WebhookOptions.SectionName);

        var failures = new List<string>();
        Collect(failures, new StorageOptionsValidator().Validate(null, storage));
        Collect(failures, new ClusteringOptionsValidator(Microsoft.Extensions.Options.Options.Create(auth)).Validate(null, clustering));
        Collect(failures, new AuthOptionsValidator().Validate(null, auth));
        Collect(failures, new FleetOptionsValidator().Validate(null, fleet));
        Collect(failures, new BillingOptionsValidator().Validate(null, billing));
        Collect(failures, new CapacityOptionsValidator().Validate(null, capacity));
        Collect(failures, new HostingOptionsValidator().Validate(null, hosting));
        Collect(failures, new RateLimitingOptionsValidator().Validate(null, rateLimiting));
        Collect(failures, new TracingOptionsValidator(configuration).Validate(null, tracing));
        Collect(failures, new WebhookOptionsValidator().Validate(null, webhooks));
        if (failures.Count > 0)
        {
            throw new StartupException("Invalid configuration:" + string.Concat(failures.Select(f => Environment.NewLine + "  - " + f)));
        }

        return new ControlPlaneSettings(storage, clustering, auth, fleet, billing, capacity, diagnostics, hosting, rateLimiting, tracing, webhooks);
    }

    private static T Bind<T>(IConfiguration configuration, string section) where T : new()
    {
        try
        {
            return configuration.GetSection(section).Get<T>() ?? new T();
        }
        catch (InvalidOperationException e)
        {
            // e.g. Fleet:HeartbeatIntervalSeconds=five
            throw new StartupException($"Invalid configuration in section '{section}': {e.InnerException?.Message ?? e.Message}");
        }
    }

    private static void Collect(List<string> failures, ValidateOptionsResult result)
    {
        if (result.Failed)
        {
            failures.AddRange(result.Failures);
        }
    }
}
