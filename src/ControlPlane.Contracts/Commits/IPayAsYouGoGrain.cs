using ControlPlane.Domain.Commits;

namespace ControlPlane.Contracts.Commits;

/// <summary>
/// A customer's pay-as-you-go book (<see cref="PayAsYouGoAccount"/>), keyed by <see cref="GrainKeys.PayAsYouGo"/>: usage
/// no contract covers, billed by calendar month at list price. The usage lives in the customer's day buckets (ledger
/// <see cref="GrainKeys.PayAsYouGoLedger"/>); this grain learns which months have usage, closes them (seals their days,
/// takes late usage) and keeps the invoices.
/// </summary>
[Alias("IPayAsYouGoGrain")]
public interface IPayAsYouGoGrain : IGrainWithStringKey
{
    /// <summary>
    /// Told by the usage ingest, after the buckets stored a batch and before the batch is acknowledged (also for a batch
    /// that was all duplicates: a resend after a failure here tells again), the months the batch's pay-as-you-go events
    /// fall in. Returns once what it changed is durable.
    /// </summary>
    [Alias("UsageRecordedAsync")]
    Task UsageRecordedAsync(List<DateOnly> months);

    /// <summary>Closes a month that has ended (in order) and issues its invoice; asked again, answers the same.</summary>
    [Alias("CloseMonthAsync")]
    Task<PayAsYouGoOutcome> CloseMonthAsync(DateOnly month);

    /// <summary>Closes every open month whose end plus the grace has passed (what the reminder does).</summary>
    [Alias("CloseDueMonthsAsync")]
    Task CloseDueMonthsAsync();

    /// <summary>
    /// The invoice closing <paramref name="month"/> would issue now (default: the oldest open month); a closed month's
    /// invoice as issued. No invoice when there is nothing to bill.
    /// </summary>
    [Alias("PreviewAsync")]
    Task<PayAsYouGoOutcome> PreviewAsync(DateOnly? month);

    /// <summary>The invoices issued, oldest first.</summary>
    [Alias("GetInvoicesAsync")]
    Task<List<PayAsYouGoInvoice>> GetInvoicesAsync();
}

/// <summary>An invoice (issued or previewed; none when there was nothing to bill), or why not.</summary>
/// <param name="Closed">True when the month is closed (the invoice, if any, is final).</param>
[GenerateSerializer, Alias("payg-outcome")]
public sealed record PayAsYouGoOutcome(
    [property: Id(0)] PayAsYouGoInvoice? Invoice,
    [property: Id(1)] LedgerError? Error,
    [property: Id(2)] DateOnly? Month = null,
    [property: Id(3)] bool Closed = false);
