using ControlPlane.Contracts;
using ControlPlane.Contracts.Commits;
using ControlPlane.Contracts.Metering;
using ControlPlane.Contracts.Webhooks;
using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;
using ControlPlane.Domain.Webhooks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grains.Commits;

/// <summary>
/// A customer's pay-as-you-go book. The state is the domain's <see cref="PayAsYouGoAccount"/> as one record; usage is
/// in the customer's day buckets. A close seals the month's days (then takes what the days counted after a seal an
/// earlier, failed attempt made), takes the late usage of the closed months that received some, and stores the invoice:
/// every step answers a retry as the first attempt, so a close asked for again (by the reminder after a restart, or an
/// operator) bills nothing twice. While a month is open a durable reminder checks for months due to close.
/// </summary>
public sealed partial class PayAsYouGoGrain(
    [PersistentState("payg", "store")] IPersistentState<PayAsYouGoAccount> state,
    IOptions<BillingOptions> options,
    TimeProvider time,
    ILogger<PayAsYouGoGrain> logger) : Grain, IPayAsYouGoGrain, IRemindable
{
    private const string CloseReminder = "payg-close";

    // Registered by this activation (or found so): a reminder is written to storage, once is enough.
    private bool _reminderSet;

    private PayAsYouGoAccount Account => state.State;

    private string CustomerId => GrainKeys.IdOf(this.GetPrimaryKeyString());

    private string UsageLedger => GrainKeys.PayAsYouGoLedger(CustomerId);

    public async Task UsageRecordedAsync(List<DateOnly> months)
    {
        if (Account.NoteUsage(months, time.GetUtcNow()))
        {
            await state.WriteOrReloadAsync(this, logger);
        }

        await EnsureReminderAsync();
    }

    public async Task<PayAsYouGoOutcome> CloseMonthAsync(DateOnly month)
    {
        month = BillingMonths.Of(month);
        var now = time.GetUtcNow();
        var check = Account.CheckClose(month, now);
        if (!check.IsSuccess)
        {
            return new(null, check.Error, month);
        }

        if (check.Value is not null)
        {
            return new(Account.InvoiceOf(month), null, month, true);
        }

        var invoiceId = PayAsYouGoInvoicing.InvoiceId(CustomerId, month);
        var usage = await SealMonthAsync(month, invoiceId);
        var lateMonths = Account.LateMonths.ToList();
        var late = await TakeLateUsageAsync(lateMonths, invoiceId);
        var invoice = Account.Close(CustomerId, month, usage, lateMonths, late, now);
        await state.WriteOrReloadAsync(this, logger);
        LogClosed(CustomerId, BillingMonths.Format(month), invoice is null ? "no invoice" : $"invoice {invoice.InvoiceId} of {Money.Format(invoice.TotalCents)} USD");

        await AnnounceInvoicesAsync();
        if (Account.OpenMonths.Count == 0)
        {
            await ForgetReminderAsync();
        }

        return new(invoice, null, month, true);
    }

    public async Task CloseDueMonthsAsync()
    {
        var grace = TimeSpan.FromDays(options.Value.PaygGraceDays);
        foreach (var month in Account.DueMonths(time.GetUtcNow(), grace))
        {
            var outcome = await CloseMonthAsync(month);
            if (outcome.Error is not null)
            {
                LogAutoCloseFailed(CustomerId, BillingMonths.Format(month), outcome.Error.Message);
                return;
            }
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != CloseReminder)
        {
            return;
        }

        _reminderSet = true;
        if (options.Value.AutoClosePaygMonths)
        {
            await CloseDueMonthsAsync();
        }

        // The back-stop of webhooks: an announcement a crash cut short.
        await AnnounceInvoicesAsync();
        if (Account.OpenMonths.Count == 0)
        {
            await ForgetReminderAsync();
        }
    }

    public async Task<PayAsYouGoOutcome> PreviewAsync(DateOnly? month)
    {
        var first = Account.FirstOpenMonth;
        if ((month is { } asked ? BillingMonths.Of(asked) : first) is not { } target)
        {
            return new(null, null);
        }

        if (Account.IsClosed(target))
        {
            return new(Account.InvoiceOf(target), null, target, true);
        }

        // A month it never heard of has no usage acknowledged: nothing to read (nor to activate buckets for).
        if (!Account.OpenMonths.Contains(target))
        {
            return new(null, null, target);
        }

        // What the close would take: the month's days as counted, with what they counted after a seal a failed close made
        // (pending, or already handed to this month's invoice id: an open month's days hand late usage to no other), and
        // the late usage pending, which goes on the oldest open month's invoice.
        var days = await Task.WhenAll(Days(target).Select(d => Bucket(d).GetAsync(UsageLedger)));
        var usage = days.SelectMany(t => t.Counted.Concat(t.PendingLate).Concat(t.BilledLate ?? [])).ToList();
        var late = new List<(DateOnly, UsageAggregate)>();
        if (first is null || target <= first)
        {
            foreach (var lateMonth in Account.LateMonths)
            {
                var totals = await Task.WhenAll(Days(lateMonth).Select(d => Bucket(d).GetAsync(UsageLedger)));
                late.AddRange(totals.SelectMany(t => t.PendingLate).Select(u => (lateMonth, u)));
            }
        }

        return new(PayAsYouGoInvoicing.Close(CustomerId, target, usage, late, time.GetUtcNow()), null, target);
    }

    public Task<List<PayAsYouGoInvoice>> GetInvoicesAsync() => Task.FromResult(Account.Invoices.ToList());

    /// <summary>Seals the month's days: their usage so far, and what they counted after a seal a failed attempt made.</summary>
    private async Task<List<UsageAggregate>> SealMonthAsync(DateOnly month, string invoiceId)
    {
        var days = await Task.WhenAll(Days(month).Select(async day =>
        {
            var bucket = Bucket(day);
            var sealedUsage = await bucket.SealAsync(UsageLedger);
            return sealedUsage.Concat(await bucket.TakeLateUsageAsync(UsageLedger, invoiceId));
        }));
        return days.SelectMany(u => u).ToList();
    }

    private async Task<List<(DateOnly Month, UsageAggregate Usage)>> TakeLateUsageAsync(List<DateOnly> months, string invoiceId)
    {
        var takes = months.SelectMany(m => Days(m).Select(async day =>
            (await Bucket(day).TakeLateUsageAsync(UsageLedger, invoiceId)).Select(u => (m, u))));
        return (await Task.WhenAll(takes)).SelectMany(u => u).ToList();
    }

    /// <summary>Publishes every invoice not announced yet. Never throws: the reminder, or the next close, tries again.</summary>
    private async Task AnnounceInvoicesAsync()
    {
        var pending = Account.Invoices.Where(i => !Account.Announced.Contains(i.InvoiceId, StringComparer.Ordinal)).ToList();
        if (pending.Count == 0)
        {
            return;
        }

        try
        {
            var webhooks = GrainFactory.GetGrain<IWebhookGrain>(GrainKeys.Webhooks(CustomerId));
            foreach (var invoice in pending)
            {
                await webhooks.PublishAsync(CommitEvents.PayAsYouGoInvoiceIssued(invoice, time.GetUtcNow()));
                Account.Announced.Add(invoice.InvoiceId);
            }

            await state.WriteOrReloadAsync(this, logger);
        }
        catch (Exception e)
        {
            LogAnnounceFailed(CustomerId, e);
        }
    }

    private async Task EnsureReminderAsync()
    {
        if (_reminderSet || Account.OpenMonths.Count == 0)
        {
            return;
        }

        var period = TimeSpan.FromSeconds(options.Value.AutoCloseCheckSeconds);
        await this.RegisterOrUpdateReminder(CloseReminder, period, period);
        _reminderSet = true;
    }

    /// <summary>Nothing open: no reminder until usage opens a month again. A failure is left to the next tick.</summary>
    private async Task ForgetReminderAsync()
    {
        try
        {
            if (await this.GetReminder(CloseReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            _reminderSet = false;
        }
        catch (Exception e)
        {
            LogReminderNotRemoved(CustomerId, e);
        }
    }

    private IUsageBucketGrain Bucket(DateOnly day) =>
        GrainFactory.GetGrain<IUsageBucketGrain>(GrainKeys.UsageBucket(CustomerId, day));

    private static IEnumerable<DateOnly> Days(DateOnly month) => BillingMonths.Days(month);
}
