namespace ControlPlane.Grains.Webhooks;

/// <summary>Webhook delivery and commit alerts (configuration section <c>Webhooks</c>).</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Webhooks";

    /// <summary>Accept plain <c>http://</c> webhook URLs (loopback receivers in tests and demos); off: https only.</summary>
    /// <value>false.</value>
    public bool AllowHttp { get; set; }

    /// <summary>The wait after the first failed attempt; it doubles with every failure.</summary>
    /// <value>10 seconds.</value>
    public int InitialRetrySeconds { get; set; } = 10;

    /// <summary>The longest wait between two attempts.</summary>
    /// <value>3600 seconds.</value>
    public int MaxRetrySeconds { get; set; } = 3600;

    /// <summary>How long after an event is published its delivery is retried before it is given up.</summary>
    /// <value>72 hours.</value>
    public int GiveUpAfterHours { get; set; } = 72;

    /// <summary>How long one attempt waits for the receiver's answer.</summary>
    /// <value>10 seconds.</value>
    public int TimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// The period of the durable reminder that resumes open deliveries after a restart (a timer does the precise retries
    /// while the outbox is active). Orleans' minimum reminder period is lowered to match when this is under a minute.
    /// </summary>
    /// <value>60 seconds.</value>
    public int ReminderSeconds { get; set; } = 60;

    /// <summary>How long a contract gathers usage reports before it checks its commit thresholds (one check per burst).</summary>
    /// <value>5 seconds.</value>
    public int CommitCheckDelaySeconds { get; set; } = 5;

    /// <summary>Finished deliveries (delivered or given up) each customer's outbox keeps to show; open ones are always kept.</summary>
    /// <value>100.</value>
    public int KeepFinished { get; set; } = 100;
}
