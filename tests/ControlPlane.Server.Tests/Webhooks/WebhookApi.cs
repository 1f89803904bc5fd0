using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Domain.Webhooks;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Webhooks;

/// <summary>The webhook half of the admin API as an operator calls it, and what a receiver checks.</summary>
public static class WebhookApi
{
    public static Task<HttpResponseMessage> PutWebhooksAsync(this HttpClient admin, string customerId, JsonNode body, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/admin/v1/customers/{customerId}/webhooks")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return admin.SendAsync(request);
    }

    /// <summary>Puts one webhook that must be accepted; returns the answer's webhook (with its secret when one was generated).</summary>
    public static async Task<JsonNode> PutWebhookAsync(this HttpClient admin, string customerId, string webhookId, string url, string[]? kinds = null, string? idempotencyKey = null)
    {
        var item = new JsonObject { ["webhookId"] = webhookId, ["url"] = url };
        if (kinds is not null)
        {
            item["kinds"] = new JsonArray(kinds.Select(k => (JsonNode?)k).ToArray());
        }

        using var response = await admin.PutWebhooksAsync(customerId, new JsonObject { ["webhooks"] = new JsonArray(item) }, idempotencyKey);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT webhooks of {customerId}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!["webhooks"]!.AsArray().Single(w => w!["webhookId"]!.GetValue<string>() == webhookId)!;
    }

    public static async Task<JsonArray> DeliveriesAsync(this HttpClient admin, string customerId) =>
        (await admin.GetFromJsonAsync<JsonArray>($"/admin/v1/customers/{customerId}/webhooks/deliveries"))!;

    /// <summary>Waits until the receiver accepted an event of <paramref name="kind"/>.</summary>
    public static Task<IReadOnlyList<WebhookReceiver.Received>> AcceptedAsync(this WebhookReceiver receiver, string kind, int count, TimeSpan timeout) =>
        Poll.UntilAsync(
            () => Task.FromResult<IReadOnlyList<WebhookReceiver.Received>>(receiver.Accepted.Where(r => r.Kind == kind).ToList()),
            accepted => accepted.Count >= count,
            timeout,
            $"{count} {kind} events accepted by the receiver (requests so far: {string.Join("; ", receiver.Requests.Select(r => $"{r.Status} {r.EventId}"))})");

    /// <summary>What a receiver does with the documented scheme, by hand: HMAC-SHA256 of "timestamp.body", hex, as v1=.</summary>
    public static bool SignatureVerifies(WebhookReceiver.Received request, string secret) =>
        WebhookSignature.Verify(
            secret,
            request.Headers["ControlPlane-Timestamp"],
            request.Headers["ControlPlane-Signature"],
            request.Body,
            DateTimeOffset.UtcNow,
            WebhookSignature.DefaultTolerance)
        && request.Headers["ControlPlane-Signature"] == "v1=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(
            Encoding.UTF8.GetBytes(secret),
            (byte[])[.. Encoding.ASCII.GetBytes(request.Headers["ControlPlane-Timestamp"] + "."), .. request.Body]));

    /// <summary>A contract whose first quarter holds today (UTC), so usage sent now counts in it.</summary>
    public static string ThisMonth() =>
        new DateOnly(DateTime.UtcNow.Year, DateTime.UtcNow.Month, 1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
