using ControlPlane.Domain.Metering;
using ControlPlane.Domain.Slas;

namespace ControlPlane.Domain.Commits;

/// <summary>A closed quarter's final usage: frozen at the close and never changed after.</summary>
/// <param name="Quarter">The quarter.</param>
/// <param name="UsageCents">Its usage priced at the close, rounded to cents once.</param>
/// <param name="ClosedAt">When it closed.</param>
/// <param name="InvoiceId">The invoice its close issued.</param>
[GenerateSerializer, Alias("closed-quarter")]
public sealed record ClosedQuarter(
    [property: Id(0)] int Quarter,
    [property: Id(1)] long UsageCents,
    [property: Id(2)] DateTimeOffset ClosedAt,
    [property: Id(3)] string InvoiceId);

/// <summary>Late usage of one closed quarter as it was billed on one invoice.</summary>
/// <param name="InvoiceId">The invoice that billed it.</param>
/// <param name="Quarter">The closed quarter it happened in.</param>
/// <param name="Usage">The usage, at list rates.</param>
/// <param name="AmountCents">Its price at the contract's rate, rounded to cents once (the invoice line; no line when 0).</param>
[GenerateSerializer, Alias("late-usage-charge")]
public sealed record LateUsageCharge(
    [property: Id(0)] string InvoiceId,
    [property: Id(1)] int Quarter,
    [property: Id(2)] List<UsageAggregate> Usage,
    [property: Id(3)] long AmountCents);

/// <summary>Where recorded usage went.</summary>
[GenerateSerializer, Alias("usage-route")]
public enum UsageRoute
{
    /// <summary>Into its quarter, which is not closed.</summary>
    Quarter = 0,
    /// <summary>Its quarter is closed: late usage, billed on the next invoice.</summary>
    Late = 1,
}

/// <summary>A model's usage over the whole term, on-time and late.</summary>
/// <param name="Model">The model.</param>
/// <param name="InputTokens">Prompt tokens.</param>
/// <param name="OutputTokens">Generated tokens.</param>
/// <param name="AmountCents">
/// Its price at the contract's rate, rounded once per model: informative, since the book rounds once per
/// quarter, the sum over models can differ from the book by a cent or so per model.
/// </param>
[GenerateSerializer, Alias("model-usage")]
public sealed record ModelUsage(
    [property: Id(0)] string Model,
    [property: Id(1)] long InputTokens,
    [property: Id(2)] long OutputTokens,
    [property: Id(3)] long AmountCents);

/// <summary>
/// Everything money about one contract in one record, so a grain stores it as one state and nothing
/// that must change together (a close, its frozen usage, its invoice, the late usage it billed) can be
/// written apart. Pure: time is passed in, nothing is read or written outside. Commands validate before
/// they change anything, so a refused command leaves the ledger as it was.
/// </summary>
/// <remarks>
/// Commands mutate the ledger in place. A grain whose write fails after a command must not keep the
/// changed copy: reload the stored state (or deactivate) so memory never holds what was not written.
/// </remarks>
[GenerateSerializer, Alias("contract-ledger")]
public sealed class ContractLedger
{
    /// <summary>The contract; null until <see cref="Open"/>.</summary>
    [Id(0)] public ContractTerms? Terms { get; set; }

    /// <summary>True-ups in the order they were applied (the n-th names invoice <c>trueup-n</c>).</summary>
    [Id(1)] public List<TrueUp> TrueUps { get; set; } = [];

    /// <summary>Closed quarters in order: quarter k is at index k - 1.</summary>
    [Id(2)] public List<ClosedQuarter> ClosedQuarters { get; set; } = [];

    /// <summary>Every invoice issued, in order.</summary>
    [Id(3)] public List<Invoice> Invoices { get; set; } = [];

    /// <summary>Usage per quarter (key: quarter) counted while the quarter was open; a closed quarter's entry never changes.</summary>
    [Id(4)] public Dictionary<int, List<UsageAggregate>> QuarterUsage { get; set; } = new();

    /// <summary>Usage of closed quarters (key: quarter) that arrived after they closed and is not billed yet.</summary>
    [Id(5)] public Dictionary<int, List<UsageAggregate>> PendingLateUsage { get; set; } = new();

    /// <summary>Late usage already billed, per invoice and quarter.</summary>
    [Id(6)] public List<LateUsageCharge> BilledLateUsage { get; set; } = [];

    /// <summary>SLO terms per dedicated deployment in the order they were set; the last set before a period ends governs it.</summary>
    [Id(7)] public List<SloTerms> Slos { get; set; } = [];

    public bool IsOpened => Terms is not null;

    /// <summary>The last closed quarter; 0 when none.</summary>
    public int ClosedThrough => ClosedQuarters.Count;

    /// <summary>The quarter the next close closes: one past the last quarter once every quarter is closed.</summary>
    public int FirstOpenQuarter => ClosedThrough + 1;

    /// <summary>Whether every quarter of the term is closed.</summary>
    public bool TermClosed => Terms is not null && ClosedThrough == Terms.Quarters;

    /// <summary>Everything invoiced so far, in cents.</summary>
    public long InvoicedCents => Invoices.Sum(i => i.TotalCents);

    /// <summary>
    /// Opens the contract and issues the opening invoice (Q1's commit). Opening again with the same terms
    /// returns the opening invoice (a retried request); with other terms it is a conflict.
    /// </summary>
    public LedgerResult<Invoice> Open(ContractTerms terms, DateTimeOffset now)
    {
        var errors = terms.Validate();
        if (errors.Count > 0)
        {
            return LedgerError.Invalid(errors);
        }

        if (Terms is not null)
        {
            return Terms == terms
                ? FindInvoice(InvoicePlanner.OpeningId(Terms.ContractId))
                : LedgerError.Conflict("contractId", $"contract {Terms.ContractId} already exists with other terms");
        }

        Terms = terms;
        var opening = InvoicePlanner.Opening(terms, TrueUps, now);
        Invoices.Add(opening);
        return opening;
    }

    /// <summary>
    /// Counts usage that happened in <paramref name="quarter"/>: into the quarter while it is open, as late
    /// usage (billed on the next invoice, the closed quarter untouched) once it is closed. The caller
    /// counts each event once (idempotency is upstream) and routes it with <see cref="QuarterCalendar.QuarterOf(DateTimeOffset)"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The contract is not opened.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The quarter is outside the term or a token count is negative.</exception>
    public UsageRoute RecordUsage(int quarter, UsageAggregate usage)
    {
        var terms = RequireTerms();
        if (quarter < 1 || quarter > terms.Quarters)
        {
            throw new ArgumentOutOfRangeException(nameof(quarter), quarter, $"A quarter of this term is between 1 and {terms.Quarters}.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(usage.InputTokens, nameof(usage));
        ArgumentOutOfRangeException.ThrowIfNegative(usage.OutputTokens, nameof(usage));

        var route = quarter <= ClosedThrough ? UsageRoute.Late : UsageRoute.Quarter;
        var target = route == UsageRoute.Late ? PendingLateUsage : QuarterUsage;
        if (!target.TryGetValue(quarter, out var aggregates))
        {
            aggregates = [];
            target[quarter] = aggregates;
        }

        UsageAggregate.MergeInto(aggregates, usage);
        return route;
    }

    /// <summary>
    /// Whether <paramref name="quarter"/> can close at <paramref name="now"/>, without changing anything:
    /// the invoice it already issued when it is closed, null when it is ready to close (the first open
    /// quarter, ended), or why not (outside the term, out of order, not ended). A caller that must gather
    /// the quarter's usage first (the contract grain seals its buckets) asks this before doing so.
    /// </summary>
    public LedgerResult<Invoice?> CheckClose(int quarter, DateTimeOffset now)
    {
        if (Terms is null)
        {
            return NotOpened();
        }

        if (quarter < 1 || quarter > Terms.Quarters)
        {
            return LedgerError.Invalid("quarter", $"must be between 1 and {Terms.Quarters}");
        }

        if (quarter <= ClosedThrough)
        {
            return FindInvoice(ClosedQuarters[quarter - 1].InvoiceId);
        }

        if (quarter > FirstOpenQuarter)
        {
            return LedgerError.Conflict("quarter", $"quarter {FirstOpenQuarter} is not closed yet: quarters close in order");
        }

        var end = Terms.Calendar().End(quarter);
        if (now < end)
        {
            return LedgerError.Conflict("quarter", $"quarter {quarter} ends at {end:yyyy-MM-dd'T'HH:mm:ss'Z'}; it cannot close before");
        }

        return new LedgerResult<Invoice?>(null, null);
    }

    /// <summary>The id the next late-usage invoice after the term will have (usage is handed to it before it is issued).</summary>
    public string NextLateUsageInvoiceId => InvoicePlanner.LateUsageId(RequireTerms().ContractId, NextLateUsageNumber());

    private int NextLateUsageNumber()
    {
        var prefix = $"{RequireTerms().ContractId}-late-";
        return 1 + Invoices.Count(i => i.InvoiceId.StartsWith(prefix, StringComparison.Ordinal));
    }

    /// <summary>
    /// Closes quarter <paramref name="quarter"/>: freezes its usage and issues its invoice (next quarter's
    /// commit, its overage, pending late usage). Closing a closed quarter returns the invoice it issued
    /// and changes nothing. Quarters close in order, and not before they end. <paramref name="sla"/> are the quarter's
    /// SLO periods as measured now (<see cref="SlaPeriods"/> says which): those that missed a credit step earn an
    /// <c>sla-credit</c> line, on this invoice only.
    /// </summary>
    public LedgerResult<Invoice> CloseQuarter(int quarter, DateTimeOffset now, IReadOnlyList<SlaPeriodInput>? sla = null)
    {
        var check = CheckClose(quarter, now);
        if (!check.IsSuccess)
        {
            return check.Error!;
        }

        if (check.Value is { } issued)
        {
            return issued;
        }

        var plan = PlanClose(Terms!, quarter, now, sla);
        ClosedQuarters.Add(plan.Closed);
        BilledLateUsage.AddRange(plan.Late);
        PendingLateUsage.Clear();
        Invoices.Add(plan.Invoice);
        return plan.Invoice;
    }

    /// <summary>
    /// Adds a true-up. If its quarter's commit was already invoiced (it takes effect in the first open
    /// quarter) a true-up invoice is issued at once and returned; otherwise the value is null and the
    /// raise is billed with that quarter's commit. A true-up whose <see cref="TrueUp.RequestId"/> was
    /// already applied returns what it returned then.
    /// </summary>
    public LedgerResult<Invoice?> AddTrueUp(TrueUp trueUp, DateTimeOffset now)
    {
        if (Terms is null)
        {
            return NotOpened();
        }

        if (trueUp.RequestId is not null)
        {
            var index = TrueUps.FindIndex(t => string.Equals(t.RequestId, trueUp.RequestId, StringComparison.Ordinal));
            if (index >= 0)
            {
                if (TrueUps[index] != trueUp)
                {
                    return LedgerError.Conflict("requestId", "was already used for a different true-up");
                }

                var id = InvoicePlanner.TrueUpId(Terms.ContractId, index + 1);
                return new LedgerResult<Invoice?>(Invoices.Find(i => i.InvoiceId == id), null);
            }
        }

        var errors = trueUp.Validate(Terms, FirstOpenQuarter);
        if (errors.Count > 0)
        {
            return LedgerError.Invalid(errors);
        }

        TrueUps.Add(trueUp);
        var invoice = InvoicePlanner.OnTrueUp(Terms, trueUp, FirstOpenQuarter, TrueUps.Count, now);
        if (invoice is not null)
        {
            Invoices.Add(invoice);
        }

        return new LedgerResult<Invoice?>(invoice, null);
    }

    /// <summary>
    /// After the last quarter closed, late usage has no next close to ride on: this bills what is pending
    /// on an invoice of its own. The value is null when nothing is pending. Refused before the term is closed.
    /// </summary>
    public LedgerResult<Invoice?> BillLateUsageAfterTerm(DateTimeOffset now)
    {
        if (Terms is null)
        {
            return NotOpened();
        }

        if (!TermClosed)
        {
            return LedgerError.Conflict("quarter", $"quarter {FirstOpenQuarter} is open: late usage is billed when it closes");
        }

        var plan = PlanAfterTerm(Terms, now);
        if (plan is null)
        {
            return new LedgerResult<Invoice?>(null, null);
        }

        BilledLateUsage.AddRange(plan.Value.Late);
        PendingLateUsage.Clear();
        Invoices.Add(plan.Value.Invoice);
        return plan.Value.Invoice;
    }

    /// <summary>
    /// The invoice that closing the first open quarter would issue at <paramref name="now"/> (after the term,
    /// the late-usage invoice <see cref="BillLateUsageAfterTerm"/> would issue); null when nothing would be
    /// issued or the contract is not opened. Changes nothing: with no new usage, closing at the same instant
    /// issues exactly this invoice.
    /// </summary>
    public Invoice? Preview(DateTimeOffset now, IReadOnlyList<SlaPeriodInput>? sla = null)
    {
        if (Terms is null)
        {
            return null;
        }

        return TermClosed ? PlanAfterTerm(Terms, now)?.Invoice : PlanClose(Terms, FirstOpenQuarter, now, sla).Invoice;
    }

    /// <summary>
    /// Sets the SLO terms of a dedicated deployment: they govern every period that ends after <see cref="SloTerms.SetAt"/>
    /// (the current one included) until replaced, in quarters not closed yet (a closed quarter's credits are final).
    /// Setting the same terms again (a retried request) changes nothing. Refused when invalid or when every quarter is closed.
    /// </summary>
    public LedgerResult<SloTerms> SetSlo(SloTerms slo)
    {
        if (Terms is null)
        {
            return NotOpened();
        }

        var errors = slo.Validate();
        if (errors.Count > 0)
        {
            return LedgerError.Invalid(errors);
        }

        if (TermClosed)
        {
            return LedgerError.Conflict("deploymentId", "every quarter of the term is closed");
        }

        if (SloOf(slo.DeploymentId) is { } current && SameTerms(current, slo))
        {
            return current;
        }

        Slos.Add(slo);
        return slo;
    }

    /// <summary>The SLO terms now in force for a deployment; null when it has none.</summary>
    public SloTerms? SloOf(string deploymentId) =>
        Slos.LastOrDefault(t => string.Equals(t.DeploymentId, deploymentId, StringComparison.Ordinal));

    /// <summary>
    /// The SLO periods of quarter <paramref name="quarter"/> the contract judges, each with the terms in force for it:
    /// what a caller measures (minutes, usage) to build the <see cref="SlaPeriodInput"/>s of a close or a preview.
    /// </summary>
    public IReadOnlyList<(SloTerms Terms, SloPeriodSpan Period)> SlaPeriods(int quarter)
    {
        var terms = RequireTerms();
        if (quarter < 1 || quarter > terms.Quarters)
        {
            return [];
        }

        // A quarter's periods are cut by the terms in force at its end; each period is judged by the terms in force at its own end.
        var calendar = terms.Calendar();
        var quarterEnd = calendar.End(quarter);
        var periods = new List<(SloTerms Terms, SloPeriodSpan Period)>();
        foreach (var deploymentId in Slos.Select(t => t.DeploymentId).Distinct(StringComparer.Ordinal))
        {
            var atEnd = Slos.LastOrDefault(t => t.DeploymentId == deploymentId && t.SetAt < quarterEnd);
            if (atEnd is null)
            {
                continue;
            }

            foreach (var period in SloPeriods.Of(calendar, quarter, atEnd.Period))
            {
                if (SlaCredits.InForce(Slos, deploymentId, period) is { } inForce)
                {
                    periods.Add((inForce, period));
                }
            }
        }

        return periods;
    }

    private static bool SameTerms(SloTerms a, SloTerms b) =>
        a.Period == b.Period && a.TargetPercent == b.TargetPercent && a.Credits.SequenceEqual(b.Credits);

    /// <summary>The quarter book: closed quarters from their frozen usage, open ones priced from their usage so far.</summary>
    /// <exception cref="InvalidOperationException">The contract is not opened.</exception>
    public IReadOnlyList<QuarterLine> Book()
    {
        var terms = RequireTerms();
        return QuarterBook.Compute(terms, TrueUps, UsageCentsByQuarter(terms), ClosedThrough);
    }

    /// <summary>Usage per model over the whole term (on-time, pending late and billed late), by model name.</summary>
    /// <exception cref="InvalidOperationException">The contract is not opened.</exception>
    public IReadOnlyList<ModelUsage> UsageByModel()
    {
        var terms = RequireTerms();
        return QuarterUsage.Values.SelectMany(a => a)
            .Concat(PendingLateUsage.Values.SelectMany(a => a))
            .Concat(BilledLateUsage.SelectMany(c => c.Usage))
            .GroupBy(a => a.Model, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ModelUsage(
                g.Key,
                g.Sum(a => a.InputTokens),
                g.Sum(a => a.OutputTokens),
                Pricing.PriceCents(g, terms.DiscountPercent)))
            .ToList();
    }

    /// <summary>Late usage not billed yet, as the next invoice would bill it (one rounding per quarter).</summary>
    public long PendingLateUsageCents()
    {
        var terms = RequireTerms();
        return PendingLateUsage.Values.Sum(usage => Pricing.PriceCents(usage, terms.DiscountPercent));
    }

    /// <summary>
    /// A copy that shares nothing mutable with this ledger: to price usage held elsewhere without
    /// storing it (record it into the copy, read the copy's book or preview), or to keep the state as it
    /// was until a write succeeds.
    /// </summary>
    public ContractLedger Clone() => new()
    {
        Terms = Terms,
        TrueUps = [.. TrueUps],
        ClosedQuarters = [.. ClosedQuarters],
        Invoices = Invoices.Select(i => i with { Lines = [.. i.Lines] }).ToList(),
        QuarterUsage = QuarterUsage.ToDictionary(q => q.Key, q => q.Value.ToList()),
        PendingLateUsage = PendingLateUsage.ToDictionary(q => q.Key, q => q.Value.ToList()),
        BilledLateUsage = BilledLateUsage.Select(c => c with { Usage = [.. c.Usage] }).ToList(),
        Slos = [.. Slos],
    };

    /// <summary>Usage of quarter <paramref name="quarter"/> in cents: frozen once closed, priced now while open.</summary>
    public long UsageCents(int quarter)
    {
        var terms = RequireTerms();
        return UsageCentsOf(terms, quarter);
    }

    private long UsageCentsOf(ContractTerms terms, int quarter) =>
        quarter <= ClosedThrough
            ? ClosedQuarters[quarter - 1].UsageCents
            : QuarterUsage.TryGetValue(quarter, out var usage) ? Pricing.PriceCents(usage, terms.DiscountPercent) : 0;

    private long[] UsageCentsByQuarter(ContractTerms terms) =>
        Enumerable.Range(1, terms.Quarters).Select(k => UsageCentsOf(terms, k)).ToArray();

    private (Invoice Invoice, ClosedQuarter Closed, List<LateUsageCharge> Late) PlanClose(
        ContractTerms terms, int quarter, DateTimeOffset now, IReadOnlyList<SlaPeriodInput>? sla)
    {
        var book = QuarterBook.Compute(terms, TrueUps, UsageCentsByQuarter(terms), closedThrough: quarter);
        var invoiceId = InvoicePlanner.CloseId(terms.ContractId, quarter);
        var late = PlanLateUsage(terms, invoiceId);
        var credits = SlaCredits.Lines((sla ?? []).Where(i => i.Period.Quarter == quarter), terms.DiscountPercent);
        var invoice = InvoicePlanner.OnClose(terms, book, quarter, LateAmounts(late), now, credits);
        return (invoice, new ClosedQuarter(quarter, book[quarter - 1].UsageCents, now, invoiceId), late);
    }

    private (Invoice Invoice, List<LateUsageCharge> Late)? PlanAfterTerm(ContractTerms terms, DateTimeOffset now)
    {
        var number = NextLateUsageNumber();
        var invoiceId = InvoicePlanner.LateUsageId(terms.ContractId, number);
        var late = PlanLateUsage(terms, invoiceId);
        var invoice = InvoicePlanner.AfterTerm(terms, LateAmounts(late), number, now);
        return invoice is null ? null : (invoice, late);
    }

    private List<LateUsageCharge> PlanLateUsage(ContractTerms terms, string invoiceId) =>
        PendingLateUsage
            .Where(p => p.Value.Count > 0)
            .OrderBy(p => p.Key)
            .Select(p => new LateUsageCharge(invoiceId, p.Key, p.Value.ToList(), Pricing.PriceCents(p.Value, terms.DiscountPercent)))
            .ToList();

    private static List<(int Quarter, long AmountCents)> LateAmounts(List<LateUsageCharge> late) =>
        late.Select(l => (l.Quarter, l.AmountCents)).ToList();

    private Invoice FindInvoice(string invoiceId) =>
        Invoices.Find(i => i.InvoiceId == invoiceId)
        ?? throw new InvalidOperationException($"The ledger lost invoice {invoiceId}.");

    private ContractTerms RequireTerms() =>
        Terms ?? throw new InvalidOperationException("The contract is not opened.");

    private static LedgerError NotOpened() => LedgerError.NotFound("contractId", "no such contract");
}
