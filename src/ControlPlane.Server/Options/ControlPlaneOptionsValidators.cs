using Azure.Data.Tables;
using ControlPlane.Server.Auth;
using ControlPlane.Server.RateLimiting;
using ControlPlane.Grains.Commits;
using ControlPlane.Grains.Deployments;
using ControlPlane.Grains.Fleet;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ControlPlane.Server.Options;

public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var errors = new List<string>();
        if (!options.IsPostgres && !string.Equals(options.Provider, StorageProviders.Memory, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"Storage:Provider must be '{StorageProviders.Memory}' or '{StorageProviders.Postgres}', not '{options.Provider}'.");
        }

        if (options.IsPostgres)
        {
            if (string.IsNullOrWhiteSpace(options.ConnectionString))
            {
                errors.Add("Storage:ConnectionString is required when Storage:Provider is 'postgres' (e.g. 'Host=db;Database=controlplane;Username=controlplane;Password=...').");
            }
            else
            {
                try
                {
                    _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
                }
                catch (ArgumentException e)
                {
                    errors.Add($"Storage:ConnectionString is not a valid PostgreSQL connection string: {e.Message}");
                }
            }
        }

        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            errors.Add("Storage:DataDirectory must not be empty.");
        }

        if (options.UnmanagedSchema && options.MigrateOnStartup && options.IsPostgres)
        {
            errors.Add("Storage:UnmanagedSchema=true needs Storage:MigrateOnStartup=false: migrations never change a schema they did not create.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public sealed class ClusteringOptionsValidator(IOptions<AuthOptions> auth) : IValidateOptions<ClusteringOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusteringOptions options)
    {
        var errors = new List<string>();
        if (!options.IsAzureTable && !string.Equals(options.Provider, ClusteringProviders.Localhost, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"Clustering:Provider must be '{ClusteringProviders.Localhost}' or '{ClusteringProviders.AzureTable}', not '{options.Provider}'.");
        }

        if (options.IsAzureTable)
        {
            var hasConnectionString = !string.IsNullOrWhiteSpace(options.ConnectionString);
            if (hasConnectionString == options.UsesAzureCredential)
            {
                errors.Add(hasConnectionString
                    ? "Clustering:ConnectionString and Clustering:AzureTableEndpoint are both set: give one, the connection string (an account key or SAS) or the endpoint with Clustering:AzureCredential (an Entra ID identity)."
                    : "Clustering:ConnectionString, or Clustering:AzureTableEndpoint with Clustering:AzureCredential, is required when Clustering:Provider is 'azuretable'.");
            }
            else if (hasConnectionString)
            {
                try
                {
                    _ = new TableServiceClient(options.ConnectionString);
                }
                catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
                {
                    errors.Add($"Clustering:ConnectionString is not a valid Azure Storage connection string: {e.Message}");
                }
            }
            else if (!Uri.TryCreate(options.AzureTableEndpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme != Uri.UriSchemeHttps)
            {
                // Azure.Core sends bearer tokens over TLS only.
                errors.Add($"Clustering:AzureTableEndpoint must be an https URL (e.g. https://account.table.core.windows.net), not '{options.AzureTableEndpoint}'.");
            }

            if (options.UsesAzureCredential && !AzureCredentials.All.Contains(options.AzureCredential?.ToLowerInvariant()))
            {
                errors.Add($"Clustering:AzureCredential must be '{AzureCredentials.Workload}', '{AzureCredentials.Managed}' or '{AzureCredentials.Default}' with Clustering:AzureTableEndpoint, not '{options.AzureCredential}'.");
            }

            if (!options.UsesAzureCredential && !string.IsNullOrWhiteSpace(options.AzureCredential))
            {
                errors.Add("Clustering:AzureCredential needs Clustering:AzureTableEndpoint (the Table service URL the identity is used for).");
            }

            if (string.IsNullOrWhiteSpace(auth.Value.BootstrapToken))
            {
                errors.Add("Auth:BootstrapToken is required with 'azuretable' clustering: every silo must accept the same operator token.");
            }
        }

        if (options.SiloPort is < 1 or > 65535 || options.GatewayPort is < 1 or > 65535 || options.SiloPort == options.GatewayPort)
        {
            errors.Add("Clustering:SiloPort and Clustering:GatewayPort must be two different ports between 1 and 65535.");
        }

        if (options.AdvertisedIPAddress is not null && !System.Net.IPAddress.TryParse(options.AdvertisedIPAddress, out _))
        {
            errors.Add($"Clustering:AdvertisedIPAddress '{options.AdvertisedIPAddress}' is not an IP address.");
        }

        if (string.IsNullOrWhiteSpace(options.ClusterId) || string.IsNullOrWhiteSpace(options.ServiceId))
        {
            errors.Add("Clustering:ClusterId and Clustering:ServiceId must not be empty.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        if (options.BootstrapToken is { } token && token.Trim().Length < 16)
        {
            return ValidateOptionsResult.Fail("Auth:BootstrapToken must be at least 16 characters.");
        }

        if (options.BootstrapToken is { } signedLooking && signedLooking.Trim().StartsWith(TokenService.Prefix, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Fail($"Auth:BootstrapToken must not start with '{TokenService.Prefix}': that is how signed tokens start, and it would be checked as one and always refused. Choose another token.");
        }

        if (options.SigningKey is { } key && key.Trim().Length < 32)
        {
            return ValidateOptionsResult.Fail("Auth:SigningKey must be at least 32 characters.");
        }

        if (options.MaxTokenLifetimeDays is < 1 or > 3_660)
        {
            return ValidateOptionsResult.Fail("Auth:MaxTokenLifetimeDays must be between 1 and 3660.");
        }

        if (options.DefaultTokenLifetimeDays < 1 || options.DefaultTokenLifetimeDays > options.MaxTokenLifetimeDays)
        {
            return ValidateOptionsResult.Fail("Auth:DefaultTokenLifetimeDays must be between 1 and Auth:MaxTokenLifetimeDays.");
        }

        if (options.RevocationRefreshSeconds is < 1 or > 60)
        {
            return ValidateOptionsResult.Fail("Auth:RevocationRefreshSeconds must be between 1 and 60.");
        }

        if (options.Oidc.Enabled)
        {
            if (!Uri.TryCreate(options.Oidc.Authority, UriKind.Absolute, out var authority) || authority.Scheme is not ("http" or "https"))
            {
                return ValidateOptionsResult.Fail("Auth:Oidc:Authority must be an absolute http or https URL (the issuer).");
            }

            if (authority.Scheme == "http" && options.Oidc.RequireHttpsMetadata)
            {
                return ValidateOptionsResult.Fail("Auth:Oidc:Authority must be https (or set Auth:Oidc:RequireHttpsMetadata=false for a provider on loopback).");
            }

            if (string.IsNullOrWhiteSpace(options.Oidc.Audience) || string.IsNullOrWhiteSpace(options.Oidc.RoleClaim) || string.IsNullOrWhiteSpace(options.Oidc.OperatorRole))
            {
                return ValidateOptionsResult.Fail("Auth:Oidc:Audience, Auth:Oidc:RoleClaim and Auth:Oidc:OperatorRole are required with Auth:Oidc:Authority.");
            }
        }

        return ValidateOptionsResult.Success;
    }
}

public sealed class FleetOptionsValidator : IValidateOptions<FleetOptions>
{
    public ValidateOptionsResult Validate(string? name, FleetOptions options)
    {
        var errors = new List<string>();
        if (options.HeartbeatIntervalSeconds is < 1 or > 300)
        {
            errors.Add("Fleet:HeartbeatIntervalSeconds must be between 1 and 300.");
        }

        if (options.SuspectAfterMissedHeartbeats < 1)
        {
            errors.Add("Fleet:SuspectAfterMissedHeartbeats must be at least 1.");
        }

        if (options.DownAfterMissedHeartbeats <= options.SuspectAfterMissedHeartbeats)
        {
            errors.Add("Fleet:DownAfterMissedHeartbeats must be greater than Fleet:SuspectAfterMissedHeartbeats.");
        }

        if (options.WatchdogPeriodSeconds is < 1 or > 3600)
        {
            errors.Add("Fleet:WatchdogPeriodSeconds must be between 1 and 3600.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public sealed class BillingOptionsValidator : IValidateOptions<BillingOptions>
{
    public ValidateOptionsResult Validate(string? name, BillingOptions options)
    {
        var errors = new List<string>();
        if (options.LateUsageGraceDays is < 0 or > 365)
        {
            errors.Add("Billing:LateUsageGraceDays must be between 0 and 365.");
        }

        if (options.PaygGraceDays is < 0 or > 365)
        {
            errors.Add("Billing:PaygGraceDays must be between 0 and 365.");
        }

        if (options.AutoCloseCheckSeconds is < 1 or > 86_400)
        {
            errors.Add("Billing:AutoCloseCheckSeconds must be between 1 and 86400.");
        }

        // A price change may wait a whole lease, within Orleans' 30 s answer timeout.
        if (options.PriceCacheLeaseSeconds is < 1 or > 20)
        {
            errors.Add("Billing:PriceCacheLeaseSeconds must be between 1 and 20.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public sealed class CapacityOptionsValidator : IValidateOptions<CapacityOptions>
{
    public ValidateOptionsResult Validate(string? name, CapacityOptions options)
    {
        var errors = new List<string>();
        if (options.ScaleDownDelaySeconds is < 0 or > 86_400)
        {
            errors.Add("Capacity:ScaleDownDelaySeconds must be between 0 and 86400.");
        }

        if (options.ForecastHorizonSeconds is < 0 or > 86_400)
        {
            errors.Add("Capacity:ForecastHorizonSeconds must be between 0 and 86400.");
        }

        if (options.ReconcileSeconds is < 1 or > 3600)
        {
            errors.Add("Capacity:ReconcileSeconds must be between 1 and 3600.");
        }

        if (options.SloSampleSeconds is < 1 or > 20)
        {
            errors.Add("Capacity:SloSampleSeconds must be between 1 and 20 (three periods must fit in a minute).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public sealed class HostingOptionsValidator : IValidateOptions<HostingOptions>
{
    public ValidateOptionsResult Validate(string? name, HostingOptions options)
    {
        var errors = new List<string>();
        if (options.ManagementPort is < 0 or > 65535)
        {
            errors.Add($"Hosting:ManagementPort must be 0 (management endpoints on the API port) or a port from 1 to 65535, not {options.ManagementPort}.");
        }

        if (options.ShutdownTimeoutSeconds is < 1 or > 3600)
        {
            errors.Add($"Hosting:ShutdownTimeoutSeconds must be from 1 to 3600, not {options.ShutdownTimeoutSeconds}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public sealed class TracingOptionsValidator(IConfiguration configuration) : IValidateOptions<TracingOptions>
{
    public ValidateOptionsResult Validate(string? name, TracingOptions options)
    {
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.OtlpEndpoint) && !IsHttpUrl(options.OtlpEndpoint))
        {
            errors.Add($"Tracing:OtlpEndpoint must be an absolute http or https URL (e.g. http://otel-collector:4317), not '{options.OtlpEndpoint}'.");
        }

        if (string.IsNullOrWhiteSpace(options.OtlpEndpoint) && TracingOptions.StandardEndpoint(configuration) is { } standard && !IsHttpUrl(standard))
        {
            errors.Add($"OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http or https URL, not '{standard}'.");
        }

        if (!string.Equals(options.OtlpProtocol, TracingOptions.Grpc, StringComparison.OrdinalIgnoreCase) && !options.IsHttp)
        {
            errors.Add($"Tracing:OtlpProtocol must be '{TracingOptions.Grpc}' or '{TracingOptions.HttpProtobuf}', not '{options.OtlpProtocol}'.");
        }

        if (!double.IsFinite(options.SampleRatio) || options.SampleRatio is < 0 or > 1)
        {
            errors.Add("Tracing:SampleRatio must be between 0 and 1.");
        }

        if (string.IsNullOrWhiteSpace(options.ServiceName))
        {
            errors.Add("Tracing:ServiceName must not be empty.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";
}

public sealed class RateLimitingOptionsValidator : IValidateOptions<RateLimitingOptions>
{
    /// <summary>The slowest refill accepted: once an hour.</summary>
    public const double MinPerSecond = 1.0 / 3600;

    public const double MaxPerSecond = 1_000_000;

    public const int MaxBurst = 10_000_000;

    public ValidateOptionsResult Validate(string? name, RateLimitingOptions options)
    {
        var errors = new List<string>();
        foreach (var (limit, value) in options.All())
        {
            var key = $"{RateLimitingOptions.SectionName}:{limit}";
            if (value.Burst is < 1 or > MaxBurst)
            {
                errors.Add($"{key}:Burst must be between 1 and {MaxBurst}.");
            }

            if (!double.IsFinite(value.PerSecond) || value.PerSecond < MinPerSecond || value.PerSecond > MaxPerSecond)
            {
                errors.Add($"{key}:PerSecond must be between {MinPerSecond:0.######} (once an hour) and {MaxPerSecond}.");
            }
            else if (value.Burst >= 1 && value.Burst < RequestThrottling.TokensPerPeriod(value.PerSecond))
            {
                // The bucket refills every 100 ms at the most: it must hold what one refill brings.
                errors.Add($"{key}:Burst must be at least a tenth of {key}:PerSecond ({RequestThrottling.TokensPerPeriod(value.PerSecond)}).");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public sealed class WebhookOptionsValidator : IValidateOptions<ControlPlane.Grains.Webhooks.WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, ControlPlane.Grains.Webhooks.WebhookOptions options)
    {
        var errors = new List<string>();
        Check(errors, "InitialRetrySeconds", options.InitialRetrySeconds, 1, 3600);
        Check(errors, "MaxRetrySeconds", options.MaxRetrySeconds, Math.Max(1, options.InitialRetrySeconds), 86_400);
        Check(errors, "GiveUpAfterHours", options.GiveUpAfterHours, 1, 24 * 30);
        Check(errors, "TimeoutSeconds", options.TimeoutSeconds, 1, 120);
        Check(errors, "ReminderSeconds", options.ReminderSeconds, 1, 3600);
        Check(errors, "CommitCheckDelaySeconds", options.CommitCheckDelaySeconds, 0, 3600);
        Check(errors, "KeepFinished", options.KeepFinished, 0, 1000);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Check(List<string> errors, string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors.Add(FormattableString.Invariant($"Webhooks:{key} must be between {min} and {max}."));
        }
    }
}
