using System.Text.Json;
using System.Text.Json.Serialization;
using ControlPlane.Grains.Commits;
using ControlPlane.Grains.Deployments;
using ControlPlane.Grains.Fleet;
using ControlPlane.Server.Api.Deployments;
using ControlPlane.Server.Api.Partners;
using ControlPlane.Server.Metrics;
using ControlPlane.Server.Options;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Console;
using Npgsql;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Diagnostics;

namespace ControlPlane.Server.Hosting;

public static class ControlPlaneHostingExtensions
{
    /// <summary>Options, JSON, errors as ProblemDetails, OpenAPI.</summary>
    public static IHostApplicationBuilder AddControlPlaneApi(this IHostApplicationBuilder builder)
    {
        var offset = builder.Configuration.GetValue<long>($"{DiagnosticsOptions.SectionName}:{nameof(DiagnosticsOptions.ClockOffsetSeconds)}");
        builder.Services.AddSingleton(offset == 0 ? TimeProvider.System : new OffsetTimeProvider(TimeSpan.FromSeconds(offset)));
        builder.Services.AddSingleton<PartnerCache>();
        builder.Services.AddSingleton<DeploymentIndex>();
        builder.Services.AddSingleton<Api.Fleet.CapacityHistory>();
        builder.Services.AddOptions<FleetOptions>().BindConfiguration(FleetOptions.SectionName).ValidateOnStart();
        builder.Services.AddOptions<BillingOptions>().BindConfiguration(BillingOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<BillingOptions>, BillingOptionsValidator>();
        builder.Services.AddOptions<CapacityOptions>().BindConfiguration(CapacityOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<CapacityOptions>, CapacityOptionsValidator>();
        builder.Services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName).ValidateOnStart();
        builder.Services.AddOptions<ClusteringOptions>().BindConfiguration(ClusteringOptions.SectionName).ValidateOnStart();
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<FleetOptions>, FleetOptionsValidator>();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<ClusteringOptions>, ClusteringOptionsValidator>();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<AuthOptions>, AuthOptionsValidator>();

        builder.Services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.Converters.Add(new NamedEnumConverterFactory());
            o.SerializerOptions.DictionaryKeyPolicy = JsonNamingPolicy.CamelCase;
            // Money may arrive as "12.50" or 12.50, but exactly as written: no exponent, nothing rounded away.
            o.SerializerOptions.NumberHandling = JsonNumberHandling.AllowReadingFromString;
            o.SerializerOptions.Converters.Add(new ExactDecimalConverter());
            // Last-wins on a repeated key would store a value the sender may not have meant.
            o.SerializerOptions.AllowDuplicateProperties = false;
        });
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ProblemDetailsExceptionHandler>();
        builder.Services.AddOpenApi();
        return builder;
    }

    /// <summary>
    /// Every log line written while a request or grain call runs carries its trace and span ids (as scopes, which the
    /// JSON console format prints), so a line found in the logs leads to its trace and back.
    /// </summary>
    public static IHostApplicationBuilder AddControlPlaneLogging(this IHostApplicationBuilder builder, ConsoleOutput output)
    {
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        if (output.IsJson)
        {
            var configuration = builder.Configuration;
            builder.Services.Configure<JsonConsoleFormatterOptions>(o => ConsoleOutput.ConfigureJson(o, configuration));
        }

        return builder;
    }

    /// <summary>
    /// Prometheus metrics (Orleans' meters, ASP.NET Core's and the <c>controlplane_*</c> ones) and, when an OTLP endpoint is
    /// configured, traces from HTTP requests through grain calls to PostgreSQL commands.
    /// </summary>
    public static IHostApplicationBuilder AddControlPlaneTelemetry(this IHostApplicationBuilder builder, TracingOptions tracing)
    {
        builder.Services.AddSingleton<ControlPlaneMetrics>();
        builder.Services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, HeartbeatAuthorizationMetrics>();
        builder.Services.AddHostedService<FleetMetricsCollector>();
        var telemetry = builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter("Microsoft.Orleans")
            .AddMeter(ControlPlaneMetrics.MeterName)
            .AddAspNetCoreInstrumentation()
            .AddPrometheusExporter());
        if (tracing.IsEnabled(builder.Configuration))
        {
            telemetry.WithTracing(traces => traces
                .ConfigureResource(r => r.AddService(tracing.ServiceName))
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(tracing.SampleRatio)))
                .AddSource(
                    ActivitySources.ApplicationGrainActivitySourceName,
                    ActivitySources.RuntimeActivitySourceName,
                    ActivitySources.StorageActivitySourceName,
                    ActivitySources.LifecycleActivitySourceName)
                // Probes and scrapes every few seconds would bury the requests worth reading.
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsOperationsPath(http.Request.Path))
                .AddNpgsql()
                .AddOtlpExporter(o =>
                {
                    // Without an endpoint here the exporter reads the standard OTEL_EXPORTER_OTLP_* variables itself.
                    if (!string.IsNullOrWhiteSpace(tracing.OtlpEndpoint))
                    {
                        o.Endpoint = tracing.ExportUri();
                        o.Protocol = tracing.IsHttp ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                    }
                }));
        }

        return builder;
    }

    private static bool IsOperationsPath(PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/metrics");

    public static IHostApplicationBuilder AddControlPlaneHealthChecks(this IHostApplicationBuilder builder, StorageOptions storage)
    {
        var checks = builder.Services.AddHealthChecks()
            .AddCheck<SiloHealthCheck>("silo", tags: ["ready"]);
        if (storage.IsPostgres)
        {
            // Degraded, not unhealthy: a database blip hits every silo at once, and taking them all out of the
            // Service would turn the API's own 503s into refused connections.
            checks.AddCheck("postgres", new PostgresHealthCheck(storage.ConnectionString!), HealthStatus.Degraded, ["ready"]);
        }

        return builder;
    }

    public static WebApplication MapControlPlaneOperations(this WebApplication app)
    {
        // Probes are never throttled: a 429 would restart the silo or take it out of its Service.
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false }).AllowAnonymous().DisableRateLimiting();
        app.MapHealthChecks("/health/ready", new() { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = HealthResponses.WriteAsync }).AllowAnonymous().DisableRateLimiting();
        app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        app.MapOpenApi().AllowAnonymous();
        return app;
    }
}
