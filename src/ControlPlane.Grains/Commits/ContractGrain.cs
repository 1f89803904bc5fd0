using Orleans.Serialization;
using ControlPlane.Grains.Metering;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Commits;
using ControlPlane.Contracts.Metering;
using ControlPlane.Contracts.Slas;
using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;
using ControlPlane.Domain.Slas;
using ControlPlane.Grains.Webhooks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grains.Commits;

/// <summary>
/// A customer contract. The state is the domain's <see cref="ContractLedger"/> (terms, true-ups, frozen
/// quarters, invoices) as one record. Usage is not in it: it lives in the contract's ledger-day buckets,
/// which this grain reads for the live book and seals when a quarter closes. A close is safe to retry at
/// any point: sealing returns the frozen totals again and late usage is handed out per invoice id.
/// </summary>
public sealed partial class ContractGrain(
    [PersistentState("contract", "store")] IPersistentState<ContractLedger> state,
    [PersistentState("contract-alerts", "store")] IPersistentState<ContractAlertState> alerts,
    IOptions<BillingOptions> options,
    IOptions<WebhookOptions> webhookOptions,
    TimeProvider time,
    IUsageBucketStore usageStore,
    Serializer<UsageBucketTotals> usageSerializer,
    ILogger<ContractGrain> logger) : Grain, IContractGrain, IRemindable
{
    private const string CloseReminder = "contract-close";

    private ContractLedger Ledger => state.State;

    private string ContractId => GrainKeys.IdOf(this.GetPrimaryKeyString());

    public async Task<ContractOutcome> CreateAsync(ContractTerms terms)
    {
        if (Ledger.IsOpened)
        {
            var again = Ledger.Open(terms, time.GetUtcNow());
            if (!again.IsSuccess)
            {
                return new(null, again.Error, null);
            }

            // A retry after a failure between the write and the reminder must not leave a contract that never closes.
            await RegisterCloseReminderAsync();
            await AnnounceInvoicesAsync();
            return new(again.Value, null, await ViewAsync());
        }

        var errors = terms.Validate();
        if (errors.Count > 0)
        {
            return new(null, LedgerError.Invalid(errors), null);
        }

        var calendar = terms.Calendar();
        var term = new ContractTerm(terms.ContractId, calendar.TermStart, calendar.TermEnd);
        if (!await GrainFactory.GetGrain<ICustomerGrain>(GrainKeys.Customer(terms.CustomerId)).AddContractAsync(term))
        {
            return new(null, LedgerError.Conflict("startDate", $"customer {terms.CustomerId} already has a contract whose term overlaps {term.Start:yyyy-MM-dd} to {term.End:yyyy-MM-dd}: one active contract per customer"), null);
        }

        var opened = Ledger.Open(terms, time.GetUtcNow());
        if (!opened.IsSuccess)
        {
            return new(null, opened.Error, null);
        }

        // Stored before the ledger, so that a contract found opened without one predates webhooks (see AnnounceInvoicesAsync).
        await alerts.WriteOrReloadAsync(this, logger);
        await state.WriteOrReloadAsync(this, logger);
        await RegisterCloseReminderAsync();
        await AnnounceInvoicesAsync();

        LogCreated(terms.ContractId, terms.CustomerId, Money.Format(terms.QuarterlyCommitCents), terms.Quarters);
        return new(opened.Value, null, await ViewAsync());
    }

    /// <summary>Registered whatever the setting: the callback checks it, so turning auto-close on later works. Idempotent.</summary>
    private Task RegisterCloseReminderAsync()
    {
        var period = TimeSpan.FromSeconds(options.Value.AutoCloseCheckSeconds);
        return this.RegisterOrUpdateReminder(CloseReminder, period, period);
    }

    public async Task<ContractOutcome> AddTrueUpAsync(TrueUp trueUp)
    {
        if (!Ledger.IsOpened)
        {
            return NotFound();
        }

        var result = Ledger.AddTrueUp(trueUp, time.GetUtcNow());
        if (!result.IsSuccess)
        {
            return new(null, result.Error, null);
        }

        await state.WriteOrReloadAsync(this, logger);
        await AnnounceInvoicesAsync();
        return new(result.Value, null, await ViewAsync());
    }

    public async Task<ContractOutcome> CloseQuarterAsync(int quarter)
    {
        if (!Ledger.IsOpened)
        {
            return NotFound();
        }

        // Closed already (its invoice), refused, or ready: only a quarter ready to close seals its buckets.
        var check = Ledger.CheckClose(quarter, time.GetUtcNow());
        if (!check.IsSuccess || check.Value is not null)
        {
            return new(check.Value, check.Error, null);
        }

        var invoiceId = InvoicePlanner.CloseId(ContractId, quarter);
        // Measured before anything is sealed or taken: a close that fails here has changed nothing.
        var sla = await SlaInputsAsync(Ledger, quarter);
        var frozen = await SealQuarterAsync(quarter);
        var late = await TakeLateUsageAsync(invoiceId);
        foreach (var usage in frozen)
        {
            Ledger.RecordUsage(quarter, usage);
        }

        foreach (var (q, usage) in late)
        {
            Ledger.RecordUsage(q, usage);
        }

        var closed = Ledger.CloseQuarter(quarter, time.GetUtcNow(), sla);
        if (!closed.IsSuccess)
        {
            await state.ReloadAsync(this, logger);
            return new(null, closed.Error, null);
        }

        await state.WriteOrReloadAsync(this, logger);
        LogClosed(ContractId, quarter, Money.Format(closed.Value.TotalCents));
        foreach (var credit in closed.Value.Lines.Where(l => l.Kind == InvoiceLineKind.SlaCredit))
        {
            // Announced with the invoice (AnnounceInvoicesAsync publishes an sla-credit event per credit line).
            LogSlaCredited(ContractId, credit.Sla!.DeploymentId, credit.Sla.PeriodStart, Money.Format(-credit.AmountCents), closed.Value.InvoiceId);
        }
        await AnnounceInvoicesAsync();

        // No view: it reads every usage day of the term, and the caller wants the invoice (the reminder nothing).
        return new(closed.Value, null, null);
    }

    public async Task CloseDueQuartersAsync()
    {
        if (!Ledger.IsOpened)
        {
            return;
        }

        var grace = TimeSpan.FromDays(options.Value.LateUsageGraceDays);
        var calendar = Ledger.Terms!.Calendar();
        while (!Ledger.TermClosed && calendar.End(Ledger.FirstOpenQuarter) + grace <= time.GetUtcNow())
        {
            var outcome = await CloseQuarterAsync(Ledger.FirstOpenQuarter);
            if (outcome.Error is not null)
            {
                LogAutoCloseFailed(ContractId, outcome.Error.Message);
                return;
            }
        }

        if (Ledger.TermClosed)
        {
            var late = await BillLateUsageAsync();
            if (late.Error is not null)
            {
                LogAutoCloseFailed(ContractId, late.Error.Message);
            }
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != CloseReminder)
        {
            return;
        }

        if (options.Value.AutoCloseQuarters)
        {
            await CloseDueQuartersAsync();
        }

        // The back-stop of webhooks: an announcement a crash cut short, a usage hint that was lost.
        await AnnounceInvoicesAsync();
        await CheckThresholdsAsync();
    }

    public async Task<ContractView?> GetAsync() => Ledger.IsOpened ? await ViewAsync() : null;

    public Task<List<Invoice>?> GetInvoicesAsync() =>
        Task.FromResult(Ledger.IsOpened ? Ledger.Invoices.ToList() : null);

    public async Task<ContractOutcome> PreviewAsync()
    {
        if (!Ledger.IsOpened)
        {
            return NotFound();
        }

        var live = await LiveLedgerAsync();
        var sla = live.TermClosed ? [] : await SlaInputsAsync(live, live.FirstOpenQuarter);
        return new(live.Preview(time.GetUtcNow(), sla), null, null);
    }

    public async Task<SloOutcome> SetSloAsync(SloTerms terms)
    {
        if (!Ledger.IsOpened)
        {
            return new(null, NotFound().Error);
        }

        var before = Ledger.Slos.Count;
        var set = Ledger.SetSlo(terms);
        if (!set.IsSuccess)
        {
            return new(null, set.Error);
        }

        if (Ledger.Slos.Count != before)
        {
            await state.WriteOrReloadAsync(this, logger);
        }

        return new(set.Value, null);
    }

    public async Task<List<SlaPeriodView>?> GetSlasAsync()
    {
        if (!Ledger.IsOpened)
        {
            return null;
        }

        var now = time.GetUtcNow();
        var calendar = Ledger.Terms!.Calendar();
        var views = new List<SlaPeriodView>();
        for (var quarter = 1; quarter <= calendar.Quarters && calendar.Start(quarter) <= now; quarter++)
        {
            if (quarter <= Ledger.ClosedThrough)
            {
                var invoice = Ledger.Invoices.Find(i => i.InvoiceId == Ledger.ClosedQuarters[quarter - 1].InvoiceId);
                foreach (var (terms, period) in Ledger.SlaPeriods(quarter))
                {
                    var line = invoice?.Lines.Find(l => l.Sla is { } d && d.DeploymentId == terms.DeploymentId && d.PeriodStart == period.Start);
                    views.Add(line?.Sla is { } detail
                        ? new SlaPeriodView(period, terms, new SloMeasurement(detail.Minutes, detail.MetMinutes, detail.MissedMinutes),
                            new SloCreditTier(detail.BelowPercent, detail.CreditPercent), detail.UsageCents, -line.AmountCents, true, invoice!.InvoiceId)
                        : View(await SlaInputAsync(terms, period, now), true));
                }

                continue;
            }

            foreach (var input in (await SlaInputsAsync(Ledger, quarter)).Where(i => i.Period.StartAt <= now))
            {
                views.Add(View(input, false));
            }
        }

        return views;
    }

    private SlaPeriodView View(SlaPeriodInput input, bool final)
    {
        var assessed = SlaCredits.Assess(input, Ledger.Terms!.DiscountPercent);
        return new SlaPeriodView(input.Period, input.Terms, input.Measurement, assessed.Tier, assessed.UsageCents,
            final ? 0 : assessed.CreditCents, final, null);
    }

    /// <summary>The SLO periods of a quarter, each measured as of now (or its end) with the deployment's usage in it.</summary>
    private async Task<List<SlaPeriodInput>> SlaInputsAsync(ContractLedger ledger, int quarter)
    {
        var now = time.GetUtcNow();
        return (await Task.WhenAll(ledger.SlaPeriods(quarter).Select(p => SlaInputAsync(p.Terms, p.Period, now)))).ToList();
    }

    private async Task<SlaPeriodInput> SlaInputAsync(SloTerms terms, SloPeriodSpan period, DateTimeOffset now)
    {
        var measurement = period.StartAt > now
            ? SloMeasurement.None
            : await GrainFactory.GetGrain<ISloMeterGrain>(GrainKeys.SloMeter(terms.DeploymentId)).MeasureAsync(period.StartAt, period.EndAt, now);
        var last = DateOnly.FromDateTime(now.UtcDateTime).AddDays(2);
        var days = new List<DateOnly>();
        for (var day = period.Start; day < period.End && day < last; day = day.AddDays(1))
        {
            days.Add(day);
        }

        var totals = await ReadDaysAsync(days);
        var usage = UsageAggregate.Merge(totals.SelectMany(t => t.ByDeployment?.GetValueOrDefault(terms.DeploymentId) ?? []));
        return new SlaPeriodInput(terms, period, measurement, usage);
    }

    public async Task<ContractOutcome> BillLateUsageAsync()
    {
        if (!Ledger.IsOpened)
        {
            return NotFound();
        }

        if (!Ledger.TermClosed)
        {
            var refused = Ledger.BillLateUsageAfterTerm(time.GetUtcNow());
            return new(null, refused.Error, null);
        }

        var invoiceId = Ledger.NextLateUsageInvoiceId;
        var late = await TakeLateUsageAsync(invoiceId);
        if (late.Count == 0)
        {
            return new(null, null, null);
        }

        foreach (var (q, usage) in late)
        {
            Ledger.RecordUsage(q, usage);
        }

        var billed = Ledger.BillLateUsageAfterTerm(time.GetUtcNow());
        if (!billed.IsSuccess || (billed.Value is not null && billed.Value.InvoiceId != invoiceId))
        {
            await state.ReloadAsync(this, logger);
            return new(null, billed.Error ?? LedgerError.Conflict("invoiceId", $"expected late-usage invoice {invoiceId}"), null);
        }

        await state.WriteOrReloadAsync(this, logger);
        await AnnounceInvoicesAsync();
        return new(billed.Value, null, null);
    }

    private async Task<ContractView> ViewAsync()
    {
        var live = await LiveLedgerAsync();
        return new ContractView(live.Terms!, live.TrueUps.ToList(), live.Book().ToList(), live.UsageByModel().ToList(), live.PendingLateUsageCents(),
            live.Slos.GroupBy(t => t.DeploymentId, StringComparer.Ordinal).Select(g => g.Last()).OrderBy(t => t.DeploymentId, StringComparer.Ordinal).ToList());
    }

    /// <summary>
    /// A copy of the ledger with the usage counted in the buckets so far: what a close would see now. Only quarters
    /// <paramref name="first"/> to <paramref name="last"/> (all by default) are read.
    /// </summary>
    private async Task<ContractLedger> LiveLedgerAsync(int first = 1, int? last = null)
    {
        var live = Ledger.Clone();
        var calendar = live.Terms!.Calendar();
        // Days after tomorrow hold nothing: an event may be at most minutes ahead of the clock.
        var tomorrow = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime).AddDays(2);
        var days = Enumerable.Range(first, (last ?? calendar.Quarters) - first + 1)
            .SelectMany(q => Days(calendar, q, tomorrow).Select(day => (Quarter: q, Day: day)))
            .ToArray();
        var read = await ReadDaysAsync(days.Select(d => d.Day).ToArray());
        foreach (var (quarter, totals) in days.Select((d, i) => (d.Quarter, read[i])))
        {
            var usage = quarter < live.FirstOpenQuarter ? totals.PendingLate : totals.Counted;
            foreach (var aggregate in usage)
            {
                live.RecordUsage(quarter, aggregate);
            }
        }

        return live;
    }

    private async Task<List<UsageAggregate>> SealQuarterAsync(int quarter)
    {
        var calendar = Ledger.Terms!.Calendar();
        var seals = Days(calendar, quarter, calendar.EndDay(quarter))
            .Select(day => Bucket(day).SealAsync(UsageLedger));
        return (await Task.WhenAll(seals)).SelectMany(u => u).ToList();
    }

    private async Task<List<(int Quarter, UsageAggregate Usage)>> TakeLateUsageAsync(string invoiceId)
    {
        var calendar = Ledger.Terms!.Calendar();
        var takes = Enumerable.Range(1, Ledger.ClosedThrough)
            .SelectMany(q => Days(calendar, q, calendar.EndDay(q)).Select(async day =>
                (await Bucket(day).TakeLateUsageAsync(UsageLedger, invoiceId)).Select(u => (q, u))));
        return (await Task.WhenAll(takes)).SelectMany(u => u).ToList();
    }

    /// <summary>This contract's ledger name inside its customer's day buckets.</summary>
    private string UsageLedger => GrainKeys.ContractLedger(ContractId);

    /// <summary>The contract's usage on each of <paramref name="days"/>, for a view or a preview (<see cref="UsageDays"/>): one store read.</summary>
    private Task<BucketTotals[]> ReadDaysAsync(IReadOnlyList<DateOnly> days) =>
        UsageDays.ReadAsync(usageStore, usageSerializer, GrainFactory, Ledger.Terms!.CustomerId, UsageLedger, days);

    private IUsageBucketGrain Bucket(DateOnly day) =>
        GrainFactory.GetGrain<IUsageBucketGrain>(GrainKeys.UsageBucket(Ledger.Terms!.CustomerId, day));

    /// <summary>The days of a quarter before <paramref name="until"/> (exclusive).</summary>
    private static IEnumerable<DateOnly> Days(QuarterCalendar calendar, int quarter, DateOnly until)
    {
        for (var day = calendar.StartDay(quarter); day < calendar.EndDay(quarter) && day < until; day = day.AddDays(1))
        {
            yield return day;
        }
    }

    private static ContractOutcome NotFound() =>
        new(null, LedgerError.NotFound("contractId", "no such contract"), null);
}
