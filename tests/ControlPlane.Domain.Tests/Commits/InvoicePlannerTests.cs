using ControlPlane.Domain.Commits;

namespace ControlPlane.Domain.Tests.Commits;

public sealed class InvoicePlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 7, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ContractTerms Terms = new("c1", "acme", new DateOnly(2026, 1, 1), 4, 25_000_000, 0m);

    [Fact]
    public void Opening_CommitOfQ1_IncludesATrueUpAlreadyEffective()
    {
        var invoice = InvoicePlanner.Opening(Terms, [new TrueUp(100, 1), new TrueUp(7, 2)], Now);

        Assert.Equal("c1-open", invoice.InvoiceId);
        Assert.Equal([new InvoiceLine(InvoiceLineKind.Commit, 1, 25_000_100)], invoice.Lines);
    }

    [Fact]
    public void OnClose_MiddleQuarter_BillsNextCommitOverageAndLateUsage()
    {
        var book = QuarterBook.Compute(Terms, [new TrueUp(1_000, 3)], [18_000_000, 40_000_000, 0, 0], closedThrough: 2);

        var invoice = InvoicePlanner.OnClose(Terms, book, 2, [(1, 123), (2, 0)], Now);

        Assert.Equal("c1-close-Q2", invoice.InvoiceId);
        Assert.Equal(
            [
                new InvoiceLine(InvoiceLineKind.Commit, 3, 25_001_000),
                new InvoiceLine(InvoiceLineKind.Overage, 2, 8_000_000),
                new InvoiceLine(InvoiceLineKind.LateUsage, 1, 123),
            ],
            invoice.Lines);
    }

    [Fact]
    public void OnClose_LastQuarter_HasNoCommitAndNoZeroLines()
    {
        var book = QuarterBook.Compute(Terms, [], [0, 0, 0, 0], closedThrough: 4);

        Assert.Empty(InvoicePlanner.OnClose(Terms, book, 4, [], Now).Lines);
    }

    [Fact]
    public void OnTrueUp_FirstOpenQuarter_InvoicesTheDifferenceAtOnce()
    {
        var invoice = InvoicePlanner.OnTrueUp(Terms, new TrueUp(5_000_000, 2), firstOpenQuarter: 2, trueUpNumber: 3, Now);

        Assert.NotNull(invoice);
        Assert.Equal("c1-trueup-3", invoice.InvoiceId);
        Assert.Equal([new InvoiceLine(InvoiceLineKind.TrueUp, 2, 5_000_000)], invoice.Lines);
    }

    [Fact]
    public void OnTrueUp_LaterQuarter_IsBilledWithThatQuartersCommit()
    {
        Assert.Null(InvoicePlanner.OnTrueUp(Terms, new TrueUp(5_000_000, 3), firstOpenQuarter: 2, trueUpNumber: 1, Now));
    }

    [Fact]
    public void Invoice_Equality_ComparesLinesInOrder()
    {
        var a = new Invoice("i", Now, [new InvoiceLine(InvoiceLineKind.Commit, 1, 5)]);
        var b = new Invoice("i", Now, [new InvoiceLine(InvoiceLineKind.Commit, 1, 5)]);

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { Lines = [new InvoiceLine(InvoiceLineKind.Commit, 1, 6)] });
        Assert.Equal(5, a.TotalCents);
    }
}
