using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Webhooks;

/// <summary>
/// The settings of a server whose webhooks a test drives: plain http to loopback receivers, retries 1 s then 2 s apart,
/// a 2-second reminder that resumes deliveries after a restart, a commit check at once after usage, quarters closed by tests.
/// </summary>
public static class WebhookSettings
{
    public static Dictionary<string, string> Fast() => new()
    {
        ["Webhooks:AllowHttp"] = "true",
        ["Webhooks:InitialRetrySeconds"] = "1",
        ["Webhooks:MaxRetrySeconds"] = "2",
        ["Webhooks:ReminderSeconds"] = "2",
        ["Webhooks:CommitCheckDelaySeconds"] = "0",
        ["Billing:AutoCloseQuarters"] = "false",
    };
}

public sealed class WebhookServerFixture() : ServerFixture(WebhookSettings.Fast())
{
    public const string CollectionName = "Webhook server";
}

[CollectionDefinition(WebhookServerFixture.CollectionName)]
public sealed class WebhookServerCollection : ICollectionFixture<WebhookServerFixture>;
