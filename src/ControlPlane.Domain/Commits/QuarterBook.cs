namespace ControlPlane.Domain.Commits;

/// <summary>One quarter of a contract's book, in cents.</summary>
/// <param name="Quarter">1-based quarter number.</param>
/// <param name="Start">First instant of the quarter.</param>
/// <param name="End">First instant after the quarter.</param>
/// <param name="CommitCents">Quarterly commit plus the true-ups effective in or before this quarter.</param>
/// <param name="RolloverInCents">What the previous quarter rolled over.</param>
/// <param name="AvailableCents">Commit plus rollover in.</param>
/// <param name="UsageCents">Priced usage, rounded to cents once.</param>
/// <param name="CoveredCents">Usage paid for by the available balance.</param>
/// <param name="OverageCents">Usage beyond the available balance, billed at the same rate.</param>
/// <param name="UnusedCents">Available balance left unused.</param>
/// <param name="RolloverOutCents">Unused balance carried into the next quarter (capped; 0 in the last quarter).</param>
/// <param name="Closed">Whether the quarter is closed and its figures final.</param>
[GenerateSerializer, Alias("quarter-line")]
public sealed record QuarterLine(
    [property: Id(0)] int Quarter,
    [property: Id(1)] DateTimeOffset Start,
    [property: Id(2)] DateTimeOffset End,
    [property: Id(3)] long CommitCents,
    [property: Id(4)] long RolloverInCents,
    [property: Id(5)] long AvailableCents,
    [property: Id(6)] long UsageCents,
    [property: Id(7)] long CoveredCents,
    [property: Id(8)] long OverageCents,
    [property: Id(9)] long UnusedCents,
    [property: Id(10)] long RolloverOutCents,
    [property: Id(11)] bool Closed);

/// <summary>The quarter book of DESIGN.md ("Money"): commit, rollover, overage and unused balance per quarter.</summary>
public static class QuarterBook
{
    /// <summary>Quarter <paramref name="quarter"/>'s commit: the quarterly commit plus every true-up effective in it or before.</summary>
    public static long CommitCents(ContractTerms terms, IEnumerable<TrueUp> trueUps, int quarter) =>
        terms.QuarterlyCommitCents + trueUps.Where(t => t.EffectiveQuarter <= quarter).Sum(t => t.AdditionalQuarterlyCommitCents);

    /// <summary>What <paramref name="unusedCents"/> rolls into the next quarter: floor(unused x cap / 100), in whole cents.</summary>
    public static long RolloverCents(long unusedCents, decimal rolloverCapPercent) =>
        decimal.ToInt64(decimal.Floor(unusedCents * rolloverCapPercent / 100m));

    /// <summary>
    /// The book of every quarter of the term. Quarters after <paramref name="closedThrough"/> are
    /// projections: an open quarter with the usage so far, a future one with none (so its unused balance
    /// shows what would roll over).
    /// </summary>
    /// <param name="terms">The contract.</param>
    /// <param name="trueUps">Every true-up so far.</param>
    /// <param name="usageCents">Usage of each quarter in cents (index k - 1), each rounded once; as many as the term's quarters.</param>
    /// <param name="closedThrough">The last closed quarter, 0 when none.</param>
    public static IReadOnlyList<QuarterLine> Compute(
        ContractTerms terms, IReadOnlyList<TrueUp> trueUps, IReadOnlyList<long> usageCents, int closedThrough)
    {
        if (usageCents.Count != terms.Quarters)
        {
            throw new ArgumentException($"Expected the usage of {terms.Quarters} quarters, got {usageCents.Count}.", nameof(usageCents));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(closedThrough);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(closedThrough, terms.Quarters);

        var calendar = terms.Calendar();
        var lines = new QuarterLine[terms.Quarters];
        var rolloverIn = 0L;
        for (var k = 1; k <= terms.Quarters; k++)
        {
            var usage = usageCents[k - 1];
            ArgumentOutOfRangeException.ThrowIfNegative(usage, nameof(usageCents));

            var commit = CommitCents(terms, trueUps, k);
            var available = commit + rolloverIn;
            var covered = Math.Min(usage, available);
            var unused = available - covered;

            // Unused commit of the last quarter expires: there is no next quarter to roll into.
            var rolloverOut = k < terms.Quarters ? RolloverCents(unused, terms.RolloverCapPercent) : 0;
            lines[k - 1] = new QuarterLine(
                k,
                calendar.Start(k),
                calendar.End(k),
                commit,
                rolloverIn,
                available,
                usage,
                covered,
                OverageCents: usage - covered,
                unused,
                rolloverOut,
                Closed: k <= closedThrough);
            rolloverIn = rolloverOut;
        }

        return lines;
    }
}
