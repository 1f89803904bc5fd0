using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;

namespace ControlPlane.Domain.Tests.Commits;

public sealed class ContractLedgerTests
{
    private const string Model = "llama-3.1-70b";
    private static readonly Rate ListRate = new(1m, 2m); // $1 per million input tokens, $2 per million output tokens.
    private static readonly TimeSpan Grace = TimeSpan.FromDays(35);

    // $1,000,000 a year as four quarters of $250,000, no discount, rollover 100%.
    private static readonly ContractTerms Example = new("acme-2026", "acme", new DateOnly(2026, 1, 1), 4, 25_000_000, 0m);

    private static DateTimeOffset Utc(int y, int m, int d) => new(y, m, d, 0, 0, 0, TimeSpan.Zero);

    private static ContractLedger Opened(ContractTerms terms)
    {
        var ledger = new ContractLedger();
        Assert.True(ledger.Open(terms, terms.Calendar().TermStart).IsSuccess);
        return ledger;
    }

    // Usage stamped at an instant, routed to the quarter containing it, in batches as a gateway would send it.
    private static UsageRoute Use(ContractLedger ledger, DateTimeOffset at, long inputTokens, long outputTokens, int batches = 1)
    {
        var quarter = ledger.Terms!.Calendar().QuarterOf(at) ?? throw new InvalidOperationException("outside the term");
        var route = UsageRoute.Quarter;
        for (var i = 0; i < batches; i++)
        {
            route = ledger.RecordUsage(quarter, new UsageAggregate(Model, ListRate, inputTokens / batches, outputTokens / batches));
        }

        return route;
    }

    private static Invoice Close(ContractLedger ledger, int quarter)
    {
        var result = ledger.CloseQuarter(quarter, ledger.Terms!.Calendar().End(quarter) + Grace);
        Assert.True(result.IsSuccess, result.Error?.Message);
        return result.Value;
    }

    [Fact]
    public void CloseQuarter_WorkedExample_InvoicesCommitQ3PlusOverageQ2()
    {
        var ledger = Opened(Example);
        Assert.Equal([new InvoiceLine(InvoiceLineKind.Commit, 1, 25_000_000)], ledger.Invoices[0].Lines);

        // Q1: 100 billion input tokens ($100,000) and 40 billion output tokens ($80,000) = $180,000.
        Use(ledger, Utc(2026, 2, 10), 100_000_000_000, 40_000_000_000, batches: 1000);
        var q1 = Close(ledger, 1);
        Assert.Equal([new InvoiceLine(InvoiceLineKind.Commit, 2, 25_000_000)], q1.Lines);

        var book = ledger.Book();
        Assert.Equal(18_000_000, book[0].UsageCents);
        Assert.Equal(7_000_000, book[0].RolloverOutCents);
        Assert.Equal(32_000_000, book[1].AvailableCents);

        // Q2: 200 billion input ($200,000) and 100 billion output ($200,000) = $400,000.
        Use(ledger, Utc(2026, 5, 20), 200_000_000_000, 100_000_000_000, batches: 500);
        var q2 = Close(ledger, 2);

        Assert.Equal(
            [new InvoiceLine(InvoiceLineKind.Commit, 3, 25_000_000), new InvoiceLine(InvoiceLineKind.Overage, 2, 8_000_000)],
            q2.Lines);
        Assert.Equal("330000.00", Money.Format(q2.TotalCents));
        Assert.Equal("acme-2026-close-Q2", q2.InvoiceId);
        book = ledger.Book();
        Assert.Equal(40_000_000, book[1].UsageCents);
        Assert.Equal(8_000_000, book[1].OverageCents);
        Assert.Equal(0, book[1].RolloverOutCents);
        Assert.Equal(25_000_000, book[2].AvailableCents);
        Assert.Equal([new ModelUsage(Model, 300_000_000_000, 140_000_000_000, 58_000_000)], ledger.UsageByModel());
    }

    [Fact]
    public void Book_RolloverCapOfHalf_RollsHalfTheUnusedBalance()
    {
        var ledger = Opened(Example with { RolloverCapPercent = 50m });
        Use(ledger, Utc(2026, 3, 1), 100_000_000_000, 40_000_000_000);
        Close(ledger, 1);

        var book = ledger.Book();
        Assert.Equal(7_000_000, book[0].UnusedCents);
        Assert.Equal(3_500_000, book[0].RolloverOutCents);
        Assert.Equal(28_500_000, book[1].AvailableCents);
    }

    [Fact]
    public void Book_DiscountedQuarter_IsPricedOnceAtTheDiscountedRate()
    {
        var ledger = Opened(Example with { DiscountPercent = 12.5m, QuarterlyCommitCents = 100 });
        // 1,234,567 input tokens at $3/1M less 12.5% = $3.240738375, spread over many events.
        for (var i = 0; i < 7; i++)
        {
            ledger.RecordUsage(1, new UsageAggregate("m", new Rate(3m, 15m), i == 0 ? 1_234_561 : 1, 0));
        }

        Assert.Equal(324, ledger.Book()[0].UsageCents);
        Assert.Equal(224, ledger.Book()[0].OverageCents);
    }

    [Fact]
    public void Book_ManyTinyEvents_RoundsTheQuarterOnce()
    {
        var ledger = Opened(Example with { QuarterlyCommitCents = 100 });
        // 1,001 events of 5,000 input tokens at $1/1M: $0.005 each (a cent each if rounded alone), $5.005 together.
        for (var i = 0; i < 1001; i++)
        {
            Use(ledger, Utc(2026, 1, 2).AddMinutes(i), 5_000, 0);
        }

        Assert.Equal(501, ledger.Book()[0].UsageCents);
        Assert.Equal(401, Close(ledger, 1).Lines.Single(l => l.Kind == InvoiceLineKind.Overage).AmountCents);
    }

    [Fact]
    public void AddTrueUp_InvoicedQuarter_IssuesTrueUpInvoiceAtOnce()
    {
        var ledger = Opened(Example);
        Close(ledger, 1);
        var now = Utc(2026, 5, 15);

        var result = ledger.AddTrueUp(new TrueUp(5_000_000, 2), now);

        Assert.True(result.IsSuccess);
        Assert.NotNull(result.Value);
        Assert.Equal("acme-2026-trueup-1", result.Value.InvoiceId);
        Assert.Equal(now, result.Value.IssuedAt);
        Assert.Equal([new InvoiceLine(InvoiceLineKind.TrueUp, 2, 5_000_000)], result.Value.Lines);
        Assert.Equal([25_000_000L, 30_000_000, 30_000_000, 30_000_000], ledger.Book().Select(l => l.CommitCents));
        // The next commit invoice carries the raise itself.
        Assert.Equal([new InvoiceLine(InvoiceLineKind.Commit, 3, 30_000_000)], Close(ledger, 2).Lines);
    }

    [Fact]
    public void AddTrueUp_QuarterNotYetInvoiced_IsBilledWithItsCommit()
    {
        var ledger = Opened(Example);

        var result = ledger.AddTrueUp(new TrueUp(5_000_000, 3), Utc(2026, 2, 1));

        Assert.True(result.IsSuccess);
        Assert.Null(result.Value);
        Assert.Single(ledger.Invoices);
        Assert.Equal([new InvoiceLine(InvoiceLineKind.Commit, 2, 25_000_000)], Close(ledger, 1).Lines);
        Assert.Equal([new InvoiceLine(InvoiceLineKind.Commit, 3, 30_000_000)], Close(ledger, 2).Lines);
    }

    [Fact]
    public void AddTrueUp_ClosedQuarter_IsRefusedAndChangesNothing()
    {
        var ledger = Opened(Example);
        Close(ledger, 1);

        var result = ledger.AddTrueUp(new TrueUp(5_000_000, 1), Utc(2026, 5, 15));

        Assert.False(result.IsSuccess);
        Assert.Equal(LedgerErrorKind.Invalid, result.Error!.Kind);
        Assert.Equal(["effectiveQuarter"], result.Error.Errors.Keys);
        Assert.Empty(ledger.TrueUps);
        Assert.Equal(2, ledger.Invoices.Count);
    }

    [Fact]
    public void AddTrueUp_RetriedWithSameRequestId_AppliesOnce()
    {
        var ledger = Opened(Example);
        var trueUp = new TrueUp(5_000_000, 1, RequestId: "req-1");

        var first = ledger.AddTrueUp(trueUp, Utc(2026, 2, 1));
        var retry = ledger.AddTrueUp(trueUp, Utc(2026, 2, 2));
        var reused = ledger.AddTrueUp(trueUp with { AdditionalQuarterlyCommitCents = 1 }, Utc(2026, 2, 2));

        Assert.Equal(first.Value, retry.Value);
        Assert.Single(ledger.TrueUps);
        Assert.Equal(LedgerErrorKind.Conflict, reused.Error!.Kind);
        Assert.Equal(30_000_000, ledger.Book()[0].CommitCents);
    }

    [Fact]
    public void RecordUsage_ClosedQuarter_IsBilledAsLateUsageOnTheNextInvoiceAndTheQuarterNeverChanges()
    {
        var ledger = Opened(Example with { DiscountPercent = 10m });
        Use(ledger, Utc(2026, 3, 1), 100_000_000_000, 40_000_000_000);
        var q1Invoice = Close(ledger, 1);
        var q1Line = ledger.Book()[0];

        // $1,000 at list arrives for Q1 after it closed: $900 at the contract's rate.
        var route = Use(ledger, Utc(2026, 3, 31), 600_000_000, 200_000_000);

        Assert.Equal(UsageRoute.Late, route);
        Assert.Equal(q1Line, ledger.Book()[0]);
        Assert.Equal(q1Invoice, ledger.CloseQuarter(1, Utc(2027, 1, 1)).Value);
        var q2 = Close(ledger, 2);
        Assert.Contains(new InvoiceLine(InvoiceLineKind.LateUsage, 1, 90_000), q2.Lines);
        Assert.Equal(q1Line, ledger.Book()[0]);
        Assert.Empty(ledger.PendingLateUsage);
        Assert.Equal(q1Invoice, ledger.Invoices[1]);
        // Billed once: the next close has no late line.
        Assert.DoesNotContain(Close(ledger, 3).Lines, l => l.Kind == InvoiceLineKind.LateUsage);
        Assert.Equal(600_000_000 + 100_000_000_000, ledger.UsageByModel().Single().InputTokens);
    }

    [Fact]
    public void BillLateUsageAfterTerm_LateUsageAfterTheLastClose_GetsAnInvoiceOfItsOwn()
    {
        var ledger = Opened(Example with { Quarters = 1 });
        Close(ledger, 1);
        Use(ledger, Utc(2026, 3, 31), 1_000_000, 0);

        var preview = ledger.Preview(Utc(2026, 6, 1));
        var invoice = ledger.BillLateUsageAfterTerm(Utc(2026, 6, 1));

        Assert.Equal(preview, invoice.Value);
        Assert.Equal("acme-2026-late-1", invoice.Value!.InvoiceId);
        Assert.Equal([new InvoiceLine(InvoiceLineKind.LateUsage, 1, 100)], invoice.Value.Lines);
        Assert.Null(ledger.BillLateUsageAfterTerm(Utc(2026, 6, 2)).Value);
        Assert.Equal(LedgerErrorKind.Conflict, Opened(Example).BillLateUsageAfterTerm(Utc(2026, 6, 2)).Error!.Kind);
    }

    [Fact]
    public void Preview_NoNewUsage_EqualsTheFinalInvoice()
    {
        var ledger = Opened(Example);
        Use(ledger, Utc(2026, 2, 1), 300_000_000_000, 0);
        Close(ledger, 1);
        Use(ledger, Utc(2026, 1, 5), 1_000_000_000, 0);
        Use(ledger, Utc(2026, 4, 5), 300_000_000_000, 0);
        var at = Utc(2026, 8, 1);

        var preview = ledger.Preview(at);
        var before = ledger.Invoices.Count;
        var final = ledger.CloseQuarter(2, at);

        Assert.Equal(before, ledger.Invoices.Count - 1);
        Assert.Equal(preview, final.Value);
        Assert.Equal(
            [
                new InvoiceLine(InvoiceLineKind.Commit, 3, 25_000_000),
                new InvoiceLine(InvoiceLineKind.Overage, 2, 5_000_000),
                new InvoiceLine(InvoiceLineKind.LateUsage, 1, 100_000),
            ],
            final.Value.Lines);
    }

    [Fact]
    public void Preview_ChangesNothing()
    {
        var ledger = Opened(Example);
        Close(ledger, 1);
        Use(ledger, Utc(2026, 1, 5), 1_000_000_000, 0);

        ledger.Preview(Utc(2026, 5, 1));

        Assert.Equal(2, ledger.Invoices.Count);
        Assert.Single(ledger.PendingLateUsage);
        Assert.Equal(1, ledger.ClosedThrough);
    }

    [Fact]
    public void CloseQuarter_Twice_ReturnsTheSameInvoiceAndChangesNothing()
    {
        var ledger = Opened(Example);
        Use(ledger, Utc(2026, 2, 1), 300_000_000_000, 0);
        var first = Close(ledger, 1);
        Use(ledger, Utc(2026, 2, 1), 1_000_000, 0);

        var again = ledger.CloseQuarter(1, Utc(2026, 12, 1));

        Assert.Equal(first, again.Value);
        Assert.Equal(2, ledger.Invoices.Count);
        Assert.Equal(30_000_000, ledger.Book()[0].UsageCents);
    }

    [Fact]
    public void CloseQuarter_OutOfOrder_IsAConflictNamingTheQuarterToCloseFirst()
    {
        var ledger = Opened(Example);

        var result = ledger.CloseQuarter(2, Utc(2026, 12, 1));

        Assert.Equal(LedgerErrorKind.Conflict, result.Error!.Kind);
        Assert.Contains("quarter 1 is not closed yet", result.Error.Message);
        Assert.Equal(0, ledger.ClosedThrough);
    }

    [Fact]
    public void CloseQuarter_BeforeItEnds_IsAConflict()
    {
        var ledger = Opened(Example);

        var result = ledger.CloseQuarter(1, Utc(2026, 4, 1).AddTicks(-1));

        Assert.Equal(LedgerErrorKind.Conflict, result.Error!.Kind);
        Assert.True(ledger.CloseQuarter(1, Utc(2026, 4, 1)).IsSuccess);
    }

    [Fact]
    public void CloseQuarter_OutsideTheTermOrNotOpened_IsRefused()
    {
        Assert.Equal(LedgerErrorKind.Invalid, Opened(Example).CloseQuarter(5, Utc(2030, 1, 1)).Error!.Kind);
        Assert.Equal(LedgerErrorKind.NotFound, new ContractLedger().CloseQuarter(1, Utc(2030, 1, 1)).Error!.Kind);
    }

    [Fact]
    public void Open_SameTermsAgain_ReturnsTheOpeningInvoice_OtherTermsConflict()
    {
        var ledger = Opened(Example);

        var again = ledger.Open(Example, Utc(2026, 3, 1));
        var other = ledger.Open(Example with { QuarterlyCommitCents = 1 }, Utc(2026, 3, 1));
        var invalid = new ContractLedger().Open(Example with { Quarters = 0 }, Utc(2026, 3, 1));

        Assert.Equal(ledger.Invoices[0], again.Value);
        Assert.Equal(LedgerErrorKind.Conflict, other.Error!.Kind);
        Assert.Equal(LedgerErrorKind.Invalid, invalid.Error!.Kind);
        Assert.Single(ledger.Invoices);
    }

    [Fact]
    public void RecordUsage_OutsideTheTerm_Throws()
    {
        var ledger = Opened(Example);

        Assert.Throws<ArgumentOutOfRangeException>(() => ledger.RecordUsage(5, new UsageAggregate(Model, ListRate, 1, 1)));
        Assert.Throws<InvalidOperationException>(() => new ContractLedger().RecordUsage(1, new UsageAggregate(Model, ListRate, 1, 1)));
    }

    [Fact]
    public void Clone_ChangedCopy_LeavesTheOriginalAsItWas()
    {
        var ledger = Opened(Example);
        Use(ledger, Utc(2026, 2, 1), 1_000_000, 0);
        Close(ledger, 1);
        Use(ledger, Utc(2026, 2, 1), 2_000_000, 0);

        var copy = ledger.Clone();
        Use(copy, Utc(2026, 2, 1), 5_000_000, 0);
        Use(copy, Utc(2026, 5, 1), 7_000_000, 0);
        Close(copy, 2);
        copy.AddTrueUp(new TrueUp(1, 3), Utc(2026, 8, 1));

        Assert.Equal(200, ledger.PendingLateUsageCents());
        Assert.Equal(0, ledger.UsageCents(2));
        Assert.Equal(1, ledger.ClosedThrough);
        Assert.Equal(2, ledger.Invoices.Count);
        Assert.Empty(ledger.TrueUps);
        Assert.Equal(
            [new InvoiceLine(InvoiceLineKind.Commit, 3, 25_000_000), new InvoiceLine(InvoiceLineKind.LateUsage, 1, 200)],
            ledger.Preview(Utc(2026, 8, 1))!.Lines);
        Assert.Equal((0L, false), (ledger.Book()[1].UsageCents, ledger.Book()[1].Closed));
        Assert.Equal((700L, true), (copy.Book()[1].UsageCents, copy.Book()[1].Closed));
        Assert.Equal(ledger.Book()[0], copy.Book()[0]);
    }

    [Fact]
    public void Invoices_WholeTerm_SumToCommitsOverageAndLateUsage()
    {
        var ledger = Opened(Example with { RolloverCapPercent = 50m, DiscountPercent = 20m });
        Use(ledger, Utc(2026, 2, 1), 400_000_000_000, 0);            // $320,000 discounted: overage 70,000
        ledger.AddTrueUp(new TrueUp(1_000_000, 2), Utc(2026, 2, 2));  // Q2.. +$10,000, billed with Q2's commit
        Close(ledger, 1);
        ledger.AddTrueUp(new TrueUp(500_000, 2), Utc(2026, 5, 1));    // Q2.. +$5,000, Q2 invoiced: true-up invoice
        Use(ledger, Utc(2026, 3, 1), 10_000_000, 0);                  // late Q1: $8
        Use(ledger, Utc(2026, 6, 1), 100_000_000_000, 0);             // Q2 $80,000 of $265,000
        for (var k = 2; k <= 4; k++)
        {
            Close(ledger, k);
        }

        var book = ledger.Book();
        Assert.Equal([25_000_000L, 26_500_000, 26_500_000, 26_500_000], book.Select(l => l.CommitCents));
        Assert.Equal(7_000_000, book[0].OverageCents);
        Assert.Equal(9_250_000, book[2].RolloverInCents);
        Assert.Equal(
            book.Sum(l => l.CommitCents) + book.Sum(l => l.OverageCents) + 800,
            ledger.InvoicedCents);
    }
}
