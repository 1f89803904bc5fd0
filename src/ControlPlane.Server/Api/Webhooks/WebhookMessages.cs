using System.Text.Json.Serialization;
using ControlPlane.Contracts.Webhooks;
using ControlPlane.Domain;
using ControlPlane.Domain.Webhooks;

namespace ControlPlane.Server.Api.Webhooks;

/// <summary>Body of <c>PUT /admin/v1/customers/{id}/webhooks</c>: the customer's whole set of webhooks (a PUT replaces it).</summary>
public sealed record PutWebhooksRequest(PutWebhookItem[]? Webhooks);

/// <param name="WebhookId">Unique within the customer.</param>
/// <param name="Url">Where events are posted.</param>
/// <param name="Kinds">Event kinds it receives; left out or empty: all.</param>
/// <param name="Secret">The signing secret; left out: kept, or generated (and shown once) for a new webhook.</param>
public sealed record PutWebhookItem(string? WebhookId, string? Url, string[]? Kinds, string? Secret);

public sealed record WebhooksResponse(string CustomerId, WebhookResponse[] Webhooks);

/// <param name="Secret">Only in the answer to the request that generated it (and to its retry with the same <c>Idempotency-Key</c>).</param>
public sealed record WebhookResponse(
    string WebhookId,
    string Url,
    string[] Kinds,
    DateTimeOffset SecretSetAt,
    DeliveryCounts Deliveries,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Secret)
{
    public static WebhookResponse From(WebhookView v, string? secret = null) =>
        new(v.WebhookId, v.Url, v.Kinds, v.SecretSetAt, new DeliveryCounts(v.Pending, v.Failing, v.Delivered, v.GivenUp), secret);
}

public sealed record DeliveryCounts(int Pending, int Failing, int Delivered, int GivenUp);

public sealed record SecretResponse(string WebhookId, string Secret);

public sealed record DeliveryResponse(
    string EventId,
    string Kind,
    string WebhookId,
    string State,
    int Attempts,
    DateTimeOffset PublishedAt,
    DateTimeOffset? LastAttemptAt,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset? DeliveredAt,
    int? LastStatusCode,
    string? LastError)
{
    public static DeliveryResponse From(WebhookDelivery d) =>
        new(d.EventId, d.Kind, d.WebhookId, StateName(d.State), d.Attempts, d.PublishedAt, d.LastAttemptAt, d.NextAttemptAt, d.DeliveredAt, d.LastStatusCode, d.LastError);

    public static string StateName(WebhookDeliveryState state) => state switch
    {
        WebhookDeliveryState.Pending => "pending",
        WebhookDeliveryState.Failing => "failing",
        WebhookDeliveryState.Delivered => "delivered",
        WebhookDeliveryState.GivenUp => "given-up",
        _ => state.ToString().ToLowerInvariant(),
    };
}

public static class WebhookMapping
{
    /// <summary>The webhooks a request asks for, or the field errors.</summary>
    public static (List<WebhookPutItem>? Items, Dictionary<string, string[]> Errors) ToItems(PutWebhooksRequest? request, bool allowHttp)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request?.Webhooks is null)
        {
            errors["webhooks"] = ["Required: the customer's whole set, [{webhookId, url, kinds?, secret?}] ([] removes every webhook)."];
            return (null, errors);
        }

        if (request.Webhooks.Length > WebhookEndpoint.MaxPerCustomer)
        {
            errors["webhooks"] = [$"At most {WebhookEndpoint.MaxPerCustomer} webhooks per customer."];
            return (null, errors);
        }

        for (var i = 0; i < request.Webhooks.Length; i++)
        {
            var item = request.Webhooks[i];
            if (item is null)
            {
                errors[$"webhooks[{i}]"] = ["Required: {webhookId, url, kinds?, secret?}."];
                continue;
            }

            foreach (var (field, problems) in WebhookEndpoint.Validate($"webhooks[{i}]", item.WebhookId, item.Url, item.Kinds, item.Secret, allowHttp))
            {
                errors[field] = problems;
            }
        }

        var duplicate = request.Webhooks.Where(w => w?.WebhookId is not null).GroupBy(w => w.WebhookId, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            errors["webhooks"] = [$"Webhook id '{duplicate.Key}' is listed more than once."];
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (request.Webhooks.Select(w => new WebhookPutItem(w.WebhookId!, w.Url!, w.Kinds ?? [], w.Secret)).ToList(), errors);
    }

    public static bool IsValidCustomer(string customerId) => Ids.IsValid(customerId);
}
