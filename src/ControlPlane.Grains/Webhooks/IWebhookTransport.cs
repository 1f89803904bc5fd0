namespace ControlPlane.Grains.Webhooks;

/// <summary>Posts one signed webhook request (the server's is HTTP; grains stay free of HTTP client set-up).</summary>
public interface IWebhookTransport
{
    /// <summary>Posts <paramref name="body"/> as JSON with <paramref name="headers"/>; never throws for the receiver's failures.</summary>
    Task<WebhookAttempt> PostAsync(string url, IReadOnlyList<KeyValuePair<string, string>> headers, string body, CancellationToken cancellationToken);
}

/// <summary>What one attempt got: the receiver's status (null when it did not answer) and, unless it was 2xx, why it failed.</summary>
public sealed record WebhookAttempt(int? StatusCode, string? Error)
{
    public bool Succeeded => Error is null && StatusCode is >= 200 and < 300;
}
