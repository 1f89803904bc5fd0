using ControlPlane.Server.Options;

namespace ControlPlane.Server.Hosting;

/// <summary>
/// <c>/health/*</c> and <c>/metrics</c> on their own port (<c>Hosting:ManagementPort</c>), so probes and
/// scrapes never share the API's port, its network policy or its rate limits; and the host's shutdown timeout.
/// </summary>
public static class ManagementPort
{
    /// <summary>Adds the management URL beside the API's and sets the shutdown timeout. Call before the ports are checked.</summary>
    public static WebApplicationBuilder AddControlPlaneHosting(this WebApplicationBuilder builder, HostingOptions hosting)
    {
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(hosting.ShutdownTimeoutSeconds));
        if (hosting.ManagementPort == 0)
        {
            return builder;
        }

        var urls = ApiUrls(builder.Configuration);
        var host = BindingAddress.Parse(urls[0]).Host;
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, string.Join(';', [.. urls, $"http://{host}:{hosting.ManagementPort}"]));
        return builder;
    }

    /// <summary>Answers 404 for management paths on the API port and for everything else on the management port.</summary>
    public static WebApplication UseManagementPort(this WebApplication app, HostingOptions hosting)
    {
        if (hosting.ManagementPort == 0)
        {
            return app;
        }

        var port = hosting.ManagementPort;
        app.Use((context, next) =>
        {
            var path = context.Request.Path;
            var managementPath = path.StartsWithSegments("/health") || path.StartsWithSegments("/metrics");
            if (managementPath != (context.Connection.LocalPort == port))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });
        return app;
    }

    // The URLs Kestrel would listen on without us: urls (ASPNETCORE_URLS, --urls), else http_ports
    // (ASPNETCORE_HTTP_PORTS, which the .NET images set), else Kestrel's own default.
    private static string[] ApiUrls(IConfiguration configuration)
    {
        var split = StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries;
        if (configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } urls)
        {
            return urls.Split(';', split);
        }

        if (configuration["http_ports"] is { Length: > 0 } ports)
        {
            return [.. ports.Split(';', split).Select(p => $"http://*:{p}")];
        }

        return ["http://localhost:5000"];
    }
}
