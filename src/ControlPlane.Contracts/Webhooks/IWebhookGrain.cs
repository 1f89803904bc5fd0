using ControlPlane.Domain.Webhooks;

namespace ControlPlane.Contracts.Webhooks;

/// <summary>
/// One customer's webhooks and their durable outbox, keyed by <see cref="GrainKeys.Webhooks"/>. An event published here is
/// stored with one delivery per webhook that receives its kind before the call returns, then posted, signed, and retried
/// with back-off until a receiver answers 2xx or the retry window ends; a durable reminder resumes deliveries after a
/// silo restart. Publishing an event id seen before changes nothing, so publishers retry freely.
/// </summary>
[Alias("IWebhookGrain")]
public interface IWebhookGrain : IGrainWithStringKey
{
    /// <summary>
    /// Replaces the customer's webhooks with <paramref name="request"/>'s (validated by the caller). A webhook listed
    /// without a secret keeps its secret, or gets a generated one when new; a retry with the same idempotency key shows
    /// the secrets that request generated again. Deliveries to webhooks no longer listed are dropped.
    /// </summary>
    [Alias("PutAsync")]
    Task<WebhookPutResult> PutAsync(WebhookPutRequest request);

    /// <summary>The customer's webhooks (without secrets) and how their deliveries stand.</summary>
    [Alias("ListAsync")]
    Task<List<WebhookView>> ListAsync();

    /// <summary>Forgets one webhook and its deliveries; false when there was none.</summary>
    [Alias("DeleteAsync")]
    Task<bool> DeleteAsync(string webhookId);

    /// <summary>Gives one webhook a new generated secret, returned once; null when there is no such webhook.</summary>
    [Alias("RotateSecretAsync")]
    Task<string?> RotateSecretAsync(string webhookId);

    /// <summary>
    /// Queues <paramref name="e"/> for every webhook that receives its kind; returns once that is durable. Idempotent by
    /// event id. An event no webhook receives is dropped.
    /// </summary>
    [Alias("PublishAsync")]
    Task PublishAsync(WebhookEvent e);

    /// <summary>Deliveries, newest first: every open one and the most recent finished ones.</summary>
    [Alias("GetDeliveriesAsync")]
    Task<List<WebhookDelivery>> GetDeliveriesAsync();

    /// <summary>Attempts the deliveries that are due (the reminder calls it; operators' tests may too).</summary>
    [Alias("DeliverDueAsync")]
    Task DeliverDueAsync();
}

/// <summary>One webhook of a PUT.</summary>
[GenerateSerializer, Alias("webhook-put-item")]
public sealed record WebhookPutItem(
    [property: Id(0)] string WebhookId,
    [property: Id(1)] string Url,
    [property: Id(2)] string[] Kinds,
    [property: Id(3)] string? Secret);

/// <summary>The whole set of a customer's webhooks.</summary>
[GenerateSerializer, Alias("webhook-put-request")]
public sealed record WebhookPutRequest(
    [property: Id(0)] List<WebhookPutItem> Webhooks,
    [property: Id(1)] string? IdempotencyKey);

/// <summary>The webhooks after a PUT, with the secrets this request generated (by webhook id).</summary>
[GenerateSerializer, Alias("webhook-put-result")]
public sealed record WebhookPutResult(
    [property: Id(0)] List<WebhookView> Webhooks,
    [property: Id(1)] Dictionary<string, string> GeneratedSecrets,
    [property: Id(2)] bool Changed);

/// <summary>A webhook as operators see it: never its secret.</summary>
[GenerateSerializer, Alias("webhook-view")]
public sealed record WebhookView(
    [property: Id(0)] string WebhookId,
    [property: Id(1)] string Url,
    [property: Id(2)] string[] Kinds,
    [property: Id(3)] DateTimeOffset SecretSetAt,
    [property: Id(4)] int Pending,
    [property: Id(5)] int Failing,
    [property: Id(6)] int Delivered,
    [property: Id(7)] int GivenUp);
