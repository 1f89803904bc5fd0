namespace ControlPlane.Domain.Commits;

/// <summary>
/// Which invoices a contract issues and what they say (DESIGN.md, "Invoices"). Over the whole term they
/// charge exactly every quarter's commit (true-ups included), every quarter's overage and all late usage:
/// Q1's commit at the start, Q(k+1)'s at the close of Qk, a true-up at once for a quarter whose commit
/// was already invoiced, and otherwise inside the commit of the quarter it raises.
/// </summary>
public static class InvoicePlanner
{
    public static string OpeningId(string contractId) => $"{contractId}-open";

    public static string CloseId(string contractId, int quarter) => $"{contractId}-close-Q{quarter}";

    public static string TrueUpId(string contractId, int trueUpNumber) => $"{contractId}-trueup-{trueUpNumber}";

    public static string LateUsageId(string contractId, int number) => $"{contractId}-late-{number}";

    /// <summary>The invoice at the start of the term: Q1's commit (with any true-up already effective in Q1).</summary>
    public static Invoice Opening(ContractTerms terms, IReadOnlyList<TrueUp> trueUps, DateTimeOffset issuedAt) =>
        new(OpeningId(terms.ContractId), issuedAt,
            [new InvoiceLine(InvoiceLineKind.Commit, 1, QuarterBook.CommitCents(terms, trueUps, 1))]);

    /// <summary>
    /// The invoice that closes quarter <paramref name="quarter"/>: the next quarter's commit (none after
    /// the last quarter), this quarter's overage if any, and a line per closed quarter with late usage.
    /// </summary>
    /// <param name="terms">The contract.</param>
    /// <param name="book">The book with <paramref name="quarter"/> closed.</param>
    /// <param name="quarter">The quarter closing.</param>
    /// <param name="lateUsage">Late usage to bill, per closed quarter, each priced and rounded once.</param>
    /// <param name="issuedAt">When it is issued.</param>
    /// <param name="slaCredits">The quarter's <c>sla-credit</c> lines (<see cref="Slas.SlaCredits.Lines"/>), printed last.</param>
    public static Invoice OnClose(
        ContractTerms terms,
        IReadOnlyList<QuarterLine> book,
        int quarter,
        IReadOnlyList<(int Quarter, long AmountCents)> lateUsage,
        DateTimeOffset issuedAt,
        IReadOnlyList<InvoiceLine>? slaCredits = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quarter, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quarter, terms.Quarters);

        var lines = new List<InvoiceLine>();
        if (quarter < terms.Quarters)
        {
            lines.Add(new InvoiceLine(InvoiceLineKind.Commit, quarter + 1, book[quarter].CommitCents));
        }

        var overage = book[quarter - 1].OverageCents;
        if (overage > 0)
        {
            lines.Add(new InvoiceLine(InvoiceLineKind.Overage, quarter, overage));
        }

        lines.AddRange(LateUsageLines(lateUsage));
        lines.AddRange(slaCredits ?? []);
        return new Invoice(CloseId(terms.ContractId, quarter), issuedAt, lines);
    }

    /// <summary>
    /// The invoice a true-up issues at once: only when it takes effect in <paramref name="firstOpenQuarter"/>,
    /// whose commit is already invoiced (Q1's at the start, any other's at the close of the quarter before).
    /// A true-up effective later is billed inside the commit of the quarter it raises: null.
    /// </summary>
    /// <param name="terms">The contract.</param>
    /// <param name="trueUp">The true-up, already validated (<see cref="TrueUp.Validate"/>).</param>
    /// <param name="firstOpenQuarter">The first quarter not closed.</param>
    /// <param name="trueUpNumber">1-based number of this true-up in the contract: names the invoice.</param>
    /// <param name="issuedAt">When it is issued.</param>
    public static Invoice? OnTrueUp(
        ContractTerms terms, TrueUp trueUp, int firstOpenQuarter, int trueUpNumber, DateTimeOffset issuedAt) =>
        trueUp.EffectiveQuarter == firstOpenQuarter && firstOpenQuarter <= terms.Quarters
            ? new Invoice(
                TrueUpId(terms.ContractId, trueUpNumber),
                issuedAt,
                [new InvoiceLine(InvoiceLineKind.TrueUp, trueUp.EffectiveQuarter, trueUp.AdditionalQuarterlyCommitCents)])
            : null;

    /// <summary>
    /// The invoice for late usage after the last quarter closed (there is no next close to carry it), or
    /// null when there is none to bill.
    /// </summary>
    public static Invoice? AfterTerm(
        ContractTerms terms, IReadOnlyList<(int Quarter, long AmountCents)> lateUsage, int number, DateTimeOffset issuedAt)
    {
        var lines = LateUsageLines(lateUsage);
        return lines.Count == 0 ? null : new Invoice(LateUsageId(terms.ContractId, number), issuedAt, lines);
    }

    private static List<InvoiceLine> LateUsageLines(IReadOnlyList<(int Quarter, long AmountCents)> lateUsage) =>
        lateUsage
            .Where(l => l.AmountCents > 0)
            .OrderBy(l => l.Quarter)
            .Select(l => new InvoiceLine(InvoiceLineKind.LateUsage, l.Quarter, l.AmountCents))
            .ToList();
}
