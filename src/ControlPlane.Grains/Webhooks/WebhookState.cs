using ControlPlane.Domain.Webhooks;

namespace ControlPlane.Grains.Webhooks;

/// <summary>A customer's webhooks and outbox, in one record: a publish stores its deliveries in the same write as its id.</summary>
[GenerateSerializer, Alias("webhook-state")]
public sealed class WebhookState
{
    [Id(0)] public Dictionary<string, WebhookEndpoint> Webhooks { get; set; } = new(StringComparer.Ordinal);

    /// <summary>For a generated secret, the idempotency key of the request that generated it (shown again to its retry).</summary>
    [Id(1)] public Dictionary<string, string> SecretGeneratedBy { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Open deliveries and the most recent finished ones, oldest first.</summary>
    [Id(2)] public List<WebhookDelivery> Deliveries { get; set; } = [];

    /// <summary>Ids of the events published most recently, oldest first: a publish of one of them changes nothing.</summary>
    [Id(3)] public List<string> RecentEventIds { get; set; } = [];
}
