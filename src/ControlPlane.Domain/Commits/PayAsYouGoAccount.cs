using ControlPlane.Domain.Metering;

namespace ControlPlane.Domain.Commits;

/// <summary>A closed pay-as-you-go month: final, whatever arrives for it later.</summary>
/// <param name="InvoiceId">The invoice its close issued; null when there was nothing to bill.</param>
[GenerateSerializer, Alias("payg-closed-month")]
public sealed record ClosedMonth(
    [property: Id(0)] DateOnly Month,
    [property: Id(1)] DateTimeOffset ClosedAt,
    [property: Id(2)] string? InvoiceId);

/// <summary>
/// One customer's pay-as-you-go book (usage no contract covers), by calendar month in UTC, as one record: which months
/// have usage and are not closed, which are closed (and their invoices), and which closed months received usage after
/// their close (late usage, billed on the next invoice). Usage itself lives in the customer's day buckets, under the
/// pay-as-you-go ledger; this book only says which months to read, seal and bill. Pure: time is passed in.
/// </summary>
/// <remarks>
/// The rules (docs/architecture.md, "Pay-as-you-go invoices"):
/// <list type="bullet">
/// <item>A month closes once it has ended, in order: never while an earlier month with usage is open.</item>
/// <item>A closed month is final and its invoice never changes. Usage for it that arrives later is late usage: billed,
/// at the list rate in force when it happened, on the next invoice issued, as a <c>late-usage</c> line of its month.
/// The month the late usage arrived in is opened (if it is not) so that there is always a next invoice to carry it.</item>
/// <item>A month with nothing to bill closes without an invoice.</item>
/// </list>
/// Commands mutate the book in place: a grain whose write fails reloads the stored state.
/// </remarks>
[GenerateSerializer, Alias("payg-account")]
public sealed class PayAsYouGoAccount
{
    /// <summary>Months with usage (or carrying late usage), not closed, oldest first.</summary>
    [Id(0)] public List<DateOnly> OpenMonths { get; set; } = [];

    /// <summary>Closed months, in the order they closed.</summary>
    [Id(1)] public List<ClosedMonth> ClosedMonths { get; set; } = [];

    /// <summary>Closed months that counted usage after their close and whose late usage is not billed yet, oldest first.</summary>
    [Id(2)] public List<DateOnly> LateMonths { get; set; } = [];

    /// <summary>Every invoice issued, in order.</summary>
    [Id(3)] public List<PayAsYouGoInvoice> Invoices { get; set; } = [];

    /// <summary>The invoices told to the customer's webhooks.</summary>
    [Id(4)] public List<string> Announced { get; set; } = [];

    public bool IsClosed(DateOnly month) => ClosedMonths.Exists(c => c.Month == month);

    /// <summary>The month the next close must be (the oldest open one); null when none is open.</summary>
    public DateOnly? FirstOpenMonth => OpenMonths.Count > 0 ? OpenMonths[0] : null;

    /// <summary>
    /// Takes note that usage was counted for <paramref name="months"/> at <paramref name="now"/>: an open month is
    /// opened, a closed one marked late (and the current month opened to carry it). True when the book changed.
    /// </summary>
    public bool NoteUsage(IEnumerable<DateOnly> months, DateTimeOffset now)
    {
        var changed = false;
        foreach (var month in months.Select(BillingMonths.Of).Distinct())
        {
            if (!IsClosed(month))
            {
                changed |= AddSorted(OpenMonths, month);
                continue;
            }

            changed |= AddSorted(LateMonths, month);
            var carrier = BillingMonths.Of(now);
            while (IsClosed(carrier))
            {
                carrier = carrier.AddMonths(1);
            }

            if (!OpenMonths.Any(m => m <= carrier))
            {
                changed |= AddSorted(OpenMonths, carrier);
            }
        }

        return changed;
    }

    /// <summary>
    /// Whether <paramref name="month"/> may close now: the closed month's record when it closed already (a close asked for
    /// again answers as the first did), null when it may close, or why not.
    /// </summary>
    public LedgerResult<ClosedMonth?> CheckClose(DateOnly month, DateTimeOffset now)
    {
        month = BillingMonths.Of(month);
        if (ClosedMonths.Find(c => c.Month == month) is { } closed)
        {
            return closed;
        }

        if (BillingMonths.End(month) > now)
        {
            return LedgerError.Conflict("month", $"{BillingMonths.Format(month)} has not ended: it can close from {BillingMonths.End(month):yyyy-MM-dd} 00:00 UTC");
        }

        if (OpenMonths.Count > 0 && OpenMonths[0] < month)
        {
            return LedgerError.Conflict("month", $"months close in order: close {BillingMonths.Format(OpenMonths[0])} first");
        }

        return (ClosedMonth?)null;
    }

    /// <summary>
    /// Closes <paramref name="month"/> (checked with <see cref="CheckClose"/>) with its usage and the late usage of
    /// <paramref name="lateMonths"/> (taken for this close): the invoice, or null when there is nothing to bill.
    /// </summary>
    public PayAsYouGoInvoice? Close(
        string customerId,
        DateOnly month,
        IEnumerable<UsageAggregate> usage,
        IReadOnlyCollection<DateOnly> lateMonths,
        IEnumerable<(DateOnly Month, UsageAggregate Usage)> late,
        DateTimeOffset now)
    {
        month = BillingMonths.Of(month);
        var invoice = PayAsYouGoInvoicing.Close(customerId, month, usage, late, now);
        OpenMonths.Remove(month);
        LateMonths.RemoveAll(lateMonths.Contains);
        ClosedMonths.Add(new ClosedMonth(month, now, invoice?.InvoiceId));
        if (invoice is not null)
        {
            Invoices.Add(invoice);
        }

        return invoice;
    }

    /// <summary>The open months whose end plus <paramref name="grace"/> has passed, oldest first: what the reminder closes.</summary>
    public List<DateOnly> DueMonths(DateTimeOffset now, TimeSpan grace) =>
        OpenMonths.Where(m => BillingMonths.End(m) + grace <= now).ToList();

    /// <summary>The invoice <paramref name="month"/>'s close issued, if it closed with one.</summary>
    public PayAsYouGoInvoice? InvoiceOf(DateOnly month) =>
        ClosedMonths.Find(c => c.Month == BillingMonths.Of(month))?.InvoiceId is { } id ? Invoices.Find(i => i.InvoiceId == id) : null;

    private static bool AddSorted(List<DateOnly> months, DateOnly month)
    {
        var index = months.BinarySearch(month);
        if (index >= 0)
        {
            return false;
        }

        months.Insert(~index, month);
        return true;
    }
}
