using System.Net.Http.Headers;
using System.Text;
using ControlPlane.Grains.Webhooks;

namespace ControlPlane.Server.Webhooks;

/// <summary>Posts webhook requests with a named <see cref="HttpClient"/>: no redirects followed (a 3xx is a failure to fix, not a new target).</summary>
public sealed class HttpWebhookTransport(IHttpClientFactory clients) : IWebhookTransport
{
    public const string ClientName = "webhooks";

    public async Task<WebhookAttempt> PostAsync(string url, IReadOnlyList<KeyValuePair<string, string>> headers, string body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        try
        {
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var status = (int)response.StatusCode;
            return new WebhookAttempt(status, response.IsSuccessStatusCode ? null : $"HTTP {status}");
        }
        catch (HttpRequestException e)
        {
            return new WebhookAttempt(null, e.HttpRequestError == HttpRequestError.Unknown ? e.Message : $"{e.HttpRequestError}: {e.Message}");
        }
    }
}
