using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Webhooks;

public sealed partial class WebhookGrain
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Customer {CustomerId} has {Count} webhooks")]
    private partial void LogPut(string customerId, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Customer {CustomerId}'s webhook {WebhookId} deleted")]
    private partial void LogDeleted(string customerId, string webhookId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Customer {CustomerId}'s webhook {WebhookId} has a new secret")]
    private partial void LogSecretRotated(string customerId, string webhookId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Customer {CustomerId}: event {Kind} {EventId} queued for {Webhooks} webhooks")]
    private partial void LogPublished(string customerId, string kind, string eventId, int webhooks);

    [LoggerMessage(Level = LogLevel.Information, Message = "Customer {CustomerId}: event {EventId} delivered to webhook {WebhookId} at attempt {Attempt}")]
    private partial void LogDelivered(string customerId, string eventId, string webhookId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Customer {CustomerId}: event {EventId} not delivered to webhook {WebhookId} at attempt {Attempt}: {Error} (given up: {GivenUp})")]
    private partial void LogAttemptFailed(string customerId, string eventId, string webhookId, int attempt, string error, bool givenUp);
}
