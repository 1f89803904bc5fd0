using ControlPlane.Contracts;
using ControlPlane.Contracts.Webhooks;
using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Webhooks;

namespace ControlPlane.Grains.Commits;

/// <summary>
/// What the contract tells its customer's webhooks: each invoice it issues, and each commit threshold (50, 80, 100% of a
/// quarter's available commit) once per quarter. An event is published under an id that is the same for the same fact
/// and recorded here only after the outbox stored it, so a crash in between publishes the same event again, which the
/// outbox ignores: never a second, different event for one crossing.
/// </summary>
public sealed partial class ContractGrain
{
    private IGrainTimer? _thresholdCheck;

    private IWebhookGrain Webhooks => GrainFactory.GetGrain<IWebhookGrain>(GrainKeys.Webhooks(Ledger.Terms!.CustomerId));

    public Task UsageRecordedAsync()
    {
        // Usage arrives in bursts of batches: one check a few seconds after the first, for all of them.
        if (_thresholdCheck is null && Ledger.IsOpened && !Ledger.TermClosed)
        {
            var delay = TimeSpan.FromSeconds(webhookOptions.Value.CommitCheckDelaySeconds);
            _thresholdCheck = this.RegisterGrainTimer(CheckThresholdsAsync, new GrainTimerCreationOptions(delay, Timeout.InfiniteTimeSpan));
        }

        return Task.CompletedTask;
    }

    /// <summary>Announces the thresholds the open quarters up to today's have reached and not announced yet.</summary>
    private async Task CheckThresholdsAsync()
    {
        _thresholdCheck?.Dispose();
        _thresholdCheck = null;
        if (!Ledger.IsOpened || Ledger.TermClosed)
        {
            return;
        }

        var now = time.GetUtcNow();
        var calendar = Ledger.Terms!.Calendar();
        var current = now >= calendar.TermEnd ? calendar.Quarters : calendar.QuarterOf(now) ?? 0;
        var first = Ledger.FirstOpenQuarter;
        if (current < first || Enumerable.Range(first, current - first + 1).All(q => Announced(q).Count == CommitThresholds.Percents.Count))
        {
            return;
        }

        try
        {
            // Earlier open quarters are read too: their unused balance is the current quarter's rollover in.
            var book = (await LiveLedgerAsync(first, current)).Book();
            var published = false;
            foreach (var line in book.Where(l => l.Quarter >= first && l.Quarter <= current))
            {
                foreach (var percent in CommitThresholds.NewlyReached(line.AvailableCents, line.UsageCents, Announced(line.Quarter)))
                {
                    await Webhooks.PublishAsync(CommitEvents.ThresholdReached(Ledger.Terms, line, percent, now));
                    Announced(line.Quarter).Add(percent);
                    published = true;
                    LogThresholdReached(ContractId, line.Quarter, percent);
                }
            }

            if (published)
            {
                await alerts.WriteOrReloadAsync(this, logger);
            }
        }
        catch (Exception e)
        {
            // The next usage, or the contract's reminder, checks again; what was published is published under the same ids.
            LogAlertsFailed(ContractId, e);
        }
    }

    private List<int> Announced(int quarter)
    {
        if (!alerts.State.Thresholds.TryGetValue(quarter, out var percents))
        {
            percents = [];
            alerts.State.Thresholds[quarter] = percents;
        }

        return percents;
    }

    /// <summary>Publishes every issued invoice not announced yet. Never throws: the contract's reminder tries again.</summary>
    private async Task AnnounceInvoicesAsync()
    {
        if (!Ledger.IsOpened)
        {
            return;
        }

        try
        {
            if (!alerts.RecordExists)
            {
                // Opened before webhooks existed: its invoices so far are history, not news.
                alerts.State.Invoices = Ledger.Invoices.Select(i => i.InvoiceId).ToList();
                await alerts.WriteOrReloadAsync(this, logger);
                return;
            }

            var pending = Ledger.Invoices.Where(i => !alerts.State.Invoices.Contains(i.InvoiceId, StringComparer.Ordinal)).ToList();
            if (pending.Count == 0)
            {
                return;
            }

            var now = time.GetUtcNow();
            foreach (var invoice in pending)
            {
                await Webhooks.PublishAsync(CommitEvents.InvoiceIssued(Ledger.Terms!, invoice, now));
                foreach (var credit in CommitEvents.SlaCredited(Ledger.Terms!, invoice, now))
                {
                    await Webhooks.PublishAsync(credit);
                }

                alerts.State.Invoices.Add(invoice.InvoiceId);
            }

            await alerts.WriteOrReloadAsync(this, logger);
        }
        catch (Exception e)
        {
            LogAlertsFailed(ContractId, e);
        }
    }
}
