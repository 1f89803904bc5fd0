namespace ControlPlane.Domain.Webhooks;

/// <summary>Where a delivery stands.</summary>
[GenerateSerializer, Alias("webhook-delivery-state")]
public enum WebhookDeliveryState
{
    /// <summary>Not attempted yet.</summary>
    Pending = 0,
    /// <summary>Attempted and refused or unreachable; tried again at <see cref="WebhookDelivery.NextAttemptAt"/>.</summary>
    Failing = 1,
    /// <summary>A receiver answered 2xx.</summary>
    Delivered = 2,
    /// <summary>Still failing when the retry window ended; not tried again.</summary>
    GivenUp = 3,
}

/// <summary>One event on its way to one webhook.</summary>
/// <param name="EventId">The event's id, the receiver's deduplication key.</param>
/// <param name="WebhookId">The webhook it goes to.</param>
/// <param name="Kind">The event's kind.</param>
/// <param name="Body">What is posted, byte for byte the same on every attempt.</param>
/// <param name="PublishedAt">When it was queued.</param>
/// <param name="State">Where it stands.</param>
/// <param name="Attempts">Attempts made.</param>
/// <param name="NextAttemptAt">When it is attempted next; null once delivered or given up.</param>
/// <param name="LastAttemptAt">When it was last attempted.</param>
/// <param name="LastStatusCode">The receiver's last HTTP status; null when it did not answer.</param>
/// <param name="LastError">Why the last attempt failed.</param>
/// <param name="DeliveredAt">When a receiver took it.</param>
[GenerateSerializer, Alias("webhook-delivery")]
public sealed record WebhookDelivery(
    [property: Id(0)] string EventId,
    [property: Id(1)] string WebhookId,
    [property: Id(2)] string Kind,
    [property: Id(3)] string Body,
    [property: Id(4)] DateTimeOffset PublishedAt,
    [property: Id(5)] WebhookDeliveryState State,
    [property: Id(6)] int Attempts,
    [property: Id(7)] DateTimeOffset? NextAttemptAt,
    [property: Id(8)] DateTimeOffset? LastAttemptAt,
    [property: Id(9)] int? LastStatusCode,
    [property: Id(10)] string? LastError,
    [property: Id(11)] DateTimeOffset? DeliveredAt)
{
    /// <summary>The longest error text kept.</summary>
    public const int MaxErrorLength = 300;

    /// <summary>A delivery of <paramref name="e"/> to <paramref name="webhookId"/>, due at once.</summary>
    public static WebhookDelivery Queue(WebhookEvent e, string webhookId, DateTimeOffset now) =>
        new(e.EventId, webhookId, e.Kind, e.Body, now, WebhookDeliveryState.Pending, 0, now, null, null, null, null);

    public bool IsOpen => State is WebhookDeliveryState.Pending or WebhookDeliveryState.Failing;

    public bool IsDue(DateTimeOffset now) => IsOpen && NextAttemptAt <= now;

    /// <summary>After an attempt a receiver answered with a 2xx status.</summary>
    public WebhookDelivery Succeeded(DateTimeOffset at, int statusCode) => this with
    {
        State = WebhookDeliveryState.Delivered,
        Attempts = Attempts + 1,
        NextAttemptAt = null,
        LastAttemptAt = at,
        LastStatusCode = statusCode,
        DeliveredAt = at,
    };

    /// <summary>After a failed attempt: retried on <paramref name="schedule"/>, or given up when its window is over.</summary>
    public WebhookDelivery Failed(DateTimeOffset at, int? statusCode, string error, RetrySchedule schedule)
    {
        var attempts = Attempts + 1;
        var next = schedule.NextAttempt(PublishedAt, at, attempts);
        return this with
        {
            State = next is null ? WebhookDeliveryState.GivenUp : WebhookDeliveryState.Failing,
            Attempts = attempts,
            NextAttemptAt = next,
            LastAttemptAt = at,
            LastStatusCode = statusCode,
            LastError = FreeText.Clean(error, MaxErrorLength),
        };
    }
}
