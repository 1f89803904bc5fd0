using ControlPlane.Grains.Webhooks;
using ControlPlane.Server.Options;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Webhooks;

public static class WebhookHosting
{
    /// <summary>Webhook options and the HTTP client deliveries go out with.</summary>
    public static IHostApplicationBuilder AddControlPlaneWebhooks(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>();
        builder.Services.AddHttpClient(HttpWebhookTransport.ClientName, c =>
            {
                // Each attempt has its own deadline (Webhooks:TimeoutSeconds); the client's own must not cut it shorter.
                c.Timeout = Timeout.InfiniteTimeSpan;
                c.DefaultRequestHeaders.UserAgent.ParseAdd("ControlPlane-Webhooks/1");
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        builder.Services.AddSingleton<IWebhookTransport, HttpWebhookTransport>();
        return builder;
    }
}
