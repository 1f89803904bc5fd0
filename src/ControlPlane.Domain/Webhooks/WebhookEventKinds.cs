namespace ControlPlane.Domain.Webhooks;

/// <summary>
/// The kinds of webhook events. A new kind is a constant here, listed in <see cref="All"/> (so a webhook can subscribe to
/// it), and a publisher that builds its event with <see cref="WebhookEvent.Create"/> under an id that is the same every
/// time the same fact is published (docs/webhooks.md, "Publishing a new kind").
/// </summary>
public static class WebhookEventKinds
{
    /// <summary>A quarter's usage reached 50%, 80% or 100% of its available commit.</summary>
    public const string CommitThreshold = "commit.threshold";

    /// <summary>A contract issued an invoice.</summary>
    public const string InvoiceIssued = "invoice.issued";

    /// <summary>A contract's invoice carries an SLA credit: a dedicated deployment's period fell below its SLO target.</summary>
    public const string SlaCredit = "sla-credit";

    public static readonly IReadOnlyList<string> All = [CommitThreshold, InvoiceIssued, SlaCredit];

    public static bool IsKnown(string? kind) => kind is not null && All.Contains(kind, StringComparer.Ordinal);
}
