using System.Text.Json;
using System.Text.Json.Nodes;

namespace ControlPlane.Domain.Webhooks;

/// <summary>
/// One fact told to a customer's webhooks. The body is fixed when the event is published and sent byte for byte on every
/// attempt, so a receiver that deduplicates by <see cref="EventId"/> sees the same event each time.
/// </summary>
/// <param name="EventId">Deterministic for the fact (e.g. <c>commit.threshold:acme-2026:q1:80</c>): publishing it again is a no-op.</param>
/// <param name="Kind">One of <see cref="WebhookEventKinds"/>.</param>
/// <param name="CustomerId">The customer whose webhooks receive it.</param>
/// <param name="OccurredAt">When the control plane saw the fact.</param>
/// <param name="Body">The JSON body: <c>{id, kind, customerId, occurredAt, data}</c>.</param>
[GenerateSerializer, Alias("webhook-event")]
public sealed record WebhookEvent(
    [property: Id(0)] string EventId,
    [property: Id(1)] string Kind,
    [property: Id(2)] string CustomerId,
    [property: Id(3)] DateTimeOffset OccurredAt,
    [property: Id(4)] string Body)
{
    /// <summary>The longest event id.</summary>
    public const int MaxEventIdLength = 200;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// An event whose <c>data</c> is <paramref name="data"/> as camelCase JSON. Give money as strings with two decimals, as
    /// the API does (<see cref="Commits.Money.Format"/>).
    /// </summary>
    public static WebhookEvent Create<TData>(string kind, string eventId, string customerId, DateTimeOffset occurredAt, TData data)
    {
        if (!WebhookEventKinds.IsKnown(kind))
        {
            throw new ArgumentException($"Unknown webhook event kind '{kind}': add it to {nameof(WebhookEventKinds)}.", nameof(kind));
        }

        ArgumentException.ThrowIfNullOrEmpty(eventId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(eventId.Length, MaxEventIdLength);
        ArgumentException.ThrowIfNullOrEmpty(customerId);
        var at = occurredAt.ToUniversalTime();
        var body = new JsonObject
        {
            ["id"] = eventId,
            ["kind"] = kind,
            ["customerId"] = customerId,
            ["occurredAt"] = at,
            ["data"] = JsonSerializer.SerializeToNode(data, Json),
        };
        return new WebhookEvent(eventId, kind, customerId, at, body.ToJsonString());
    }
}
