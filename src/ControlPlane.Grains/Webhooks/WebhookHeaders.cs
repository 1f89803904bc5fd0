namespace ControlPlane.Grains.Webhooks;

/// <summary>The headers of a webhook request (docs/webhooks.md).</summary>
public static class WebhookHeaders
{
    /// <summary>The event's id: the same on every attempt; the receiver's deduplication key.</summary>
    public const string EventId = "ControlPlane-Event-Id";

    public const string EventKind = "ControlPlane-Event-Kind";

    /// <summary>When this attempt was signed, in Unix seconds; part of the signed bytes.</summary>
    public const string Timestamp = "ControlPlane-Timestamp";

    /// <summary><c>v1=</c> and the hex HMAC-SHA256 (<see cref="Domain.Webhooks.WebhookSignature"/>).</summary>
    public const string Signature = "ControlPlane-Signature";

    /// <summary>1 on the first attempt, counting up.</summary>
    public const string Attempt = "ControlPlane-Delivery-Attempt";
}
