using ControlPlane.Domain.Commits;

namespace ControlPlane.Domain.Webhooks;

/// <summary>The webhook events of dollar commits: thresholds of a quarter's available commit, and invoices.</summary>
public static class CommitEvents
{
    /// <summary>The one id of "quarter <paramref name="quarter"/> of a contract reached <paramref name="percent"/>%".</summary>
    public static string ThresholdEventId(string contractId, int quarter, int percent) =>
        FormattableString.Invariant($"{WebhookEventKinds.CommitThreshold}:{contractId}:q{quarter}:{percent}");

    /// <summary>The one id of "invoice <paramref name="invoiceId"/> was issued" (invoice ids are unique: they start with the contract id).</summary>
    public static string InvoiceEventId(string invoiceId) => $"{WebhookEventKinds.InvoiceIssued}:{invoiceId}";

    public static WebhookEvent ThresholdReached(ContractTerms terms, QuarterLine quarter, int percent, DateTimeOffset now) =>
        WebhookEvent.Create(
            WebhookEventKinds.CommitThreshold,
            ThresholdEventId(terms.ContractId, quarter.Quarter, percent),
            terms.CustomerId,
            now,
            new CommitThresholdData(
                terms.ContractId,
                quarter.Quarter,
                percent,
                quarter.Start,
                quarter.End,
                Money.Format(quarter.CommitCents),
                Money.Format(quarter.RolloverInCents),
                Money.Format(quarter.AvailableCents),
                Money.Format(quarter.UsageCents),
                Money.Format(Math.Max(0, quarter.AvailableCents - quarter.UsageCents))));

    public static WebhookEvent InvoiceIssued(ContractTerms terms, Invoice invoice, DateTimeOffset now) =>
        WebhookEvent.Create(
            WebhookEventKinds.InvoiceIssued,
            InvoiceEventId(invoice.InvoiceId),
            terms.CustomerId,
            now,
            new InvoiceIssuedData(
                terms.ContractId,
                invoice.InvoiceId,
                invoice.IssuedAt,
                Money.Format(invoice.TotalCents),
                invoice.Lines.Select(l => new InvoiceLineData(KindName(l.Kind), l.Quarter, Money.Format(l.AmountCents))).ToArray()));

    /// <summary>
    /// A customer's pay-as-you-go invoice, as <see cref="WebhookEventKinds.InvoiceIssued"/> with <c>billing</c>
    /// <c>pay-as-you-go</c>, no <c>contractId</c>, its month, and a line per model and list rate.
    /// </summary>
    public static WebhookEvent PayAsYouGoInvoiceIssued(PayAsYouGoInvoice invoice, DateTimeOffset now) =>
        WebhookEvent.Create(
            WebhookEventKinds.InvoiceIssued,
            InvoiceEventId(invoice.InvoiceId),
            invoice.CustomerId,
            now,
            new PayAsYouGoInvoiceIssuedData(
                null,
                "pay-as-you-go",
                BillingMonths.Format(invoice.Month),
                invoice.InvoiceId,
                invoice.IssuedAt,
                Money.Format(invoice.TotalCents),
                invoice.Lines.Select(l => new PayAsYouGoLineData(
                    l.Kind == PayAsYouGoLineKind.LateUsage ? "late-usage" : "usage",
                    BillingMonths.Format(l.Month),
                    l.Model,
                    l.InputTokens,
                    l.OutputTokens,
                    l.ListRate.InputUsdPer1M / 1.0000000000000000000000000000m,
                    l.ListRate.OutputUsdPer1M / 1.0000000000000000000000000000m,
                    Money.Format(l.AmountCents))).ToArray()));

    /// <summary>
    /// The one id of "invoice <paramref name="invoiceId"/> credits <paramref name="deploymentId"/>'s period from
    /// <paramref name="periodStart"/>" (a period is credited once, on one invoice).
    /// </summary>
    public static string SlaCreditEventId(string invoiceId, string deploymentId, DateOnly periodStart) =>
        FormattableString.Invariant($"{WebhookEventKinds.SlaCredit}:{invoiceId}:{deploymentId}:{periodStart:yyyy-MM-dd}");

    /// <summary>One event per <c>sla-credit</c> line of an issued invoice, with the measurement behind it.</summary>
    public static IEnumerable<WebhookEvent> SlaCredited(ContractTerms terms, Invoice invoice, DateTimeOffset now) =>
        invoice.Lines
            .Where(l => l.Kind == InvoiceLineKind.SlaCredit && l.Sla is not null)
            .Select(l => WebhookEvent.Create(
                WebhookEventKinds.SlaCredit,
                SlaCreditEventId(invoice.InvoiceId, l.Sla!.DeploymentId, l.Sla.PeriodStart),
                terms.CustomerId,
                now,
                new SlaCreditData(
                    terms.ContractId,
                    invoice.InvoiceId,
                    l.Quarter,
                    l.Sla.DeploymentId,
                    l.Sla.PeriodStart,
                    l.Sla.PeriodEnd,
                    l.Sla.Minutes,
                    l.Sla.MetMinutes,
                    l.Sla.MissedMinutes,
                    l.Sla.AttainmentPercent,
                    l.Sla.TargetPercent,
                    l.Sla.CreditPercent,
                    Money.Format(l.Sla.UsageCents),
                    Money.Format(-l.AmountCents))));

    private static string KindName(InvoiceLineKind kind) => kind switch
    {
        InvoiceLineKind.Commit => "commit",
        InvoiceLineKind.Overage => "overage",
        InvoiceLineKind.TrueUp => "true-up",
        InvoiceLineKind.LateUsage => "late-usage",
        InvoiceLineKind.SlaCredit => "sla-credit",
        _ => kind.ToString().ToLowerInvariant(),
    };
}

/// <summary><c>data</c> of <see cref="WebhookEventKinds.CommitThreshold"/>: the quarter's book when the threshold was seen.</summary>
public sealed record CommitThresholdData(
    string ContractId,
    int Quarter,
    int ThresholdPercent,
    DateTimeOffset QuarterStart,
    DateTimeOffset QuarterEnd,
    string CommitUsd,
    string RolloverInUsd,
    string AvailableUsd,
    string UsageUsd,
    string RemainingUsd);

/// <summary><c>data</c> of <see cref="WebhookEventKinds.InvoiceIssued"/>.</summary>
public sealed record InvoiceIssuedData(string ContractId, string InvoiceId, DateTimeOffset IssuedAt, string TotalUsd, InvoiceLineData[] Lines);

public sealed record InvoiceLineData(string Kind, int Quarter, string AmountUsd);

/// <summary><c>data</c> of <see cref="WebhookEventKinds.InvoiceIssued"/> for a pay-as-you-go invoice (<c>contractId</c> null).</summary>
public sealed record PayAsYouGoInvoiceIssuedData(
    string? ContractId,
    string Billing,
    string Month,
    string InvoiceId,
    DateTimeOffset IssuedAt,
    string TotalUsd,
    PayAsYouGoLineData[] Lines);

/// <summary>A pay-as-you-go line: <c>usage</c> of the invoice's month or <c>late-usage</c> of an earlier one, at list price.</summary>
public sealed record PayAsYouGoLineData(
    string Kind,
    string Month,
    string Model,
    long InputTokens,
    long OutputTokens,
    decimal InputUsdPer1M,
    decimal OutputUsdPer1M,
    string AmountUsd);

/// <summary>
/// <c>data</c> of <see cref="WebhookEventKinds.SlaCredit"/>: the credited period's measurement (minutes of the period the
/// deployment existed, met and missed ones, attainment and target in percent) and the credit (<c>creditUsd</c>, positive:
/// the invoice line is its negative).
/// </summary>
public sealed record SlaCreditData(
    string ContractId,
    string InvoiceId,
    int Quarter,
    string DeploymentId,
    DateOnly PeriodStart,
    DateOnly PeriodEnd,
    long Minutes,
    long MetMinutes,
    long MissedMinutes,
    decimal AttainmentPercent,
    decimal TargetPercent,
    decimal CreditPercent,
    string UsageUsd,
    string CreditUsd);
