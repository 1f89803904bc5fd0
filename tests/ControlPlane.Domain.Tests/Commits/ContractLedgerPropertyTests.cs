using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;
using CsCheck;

namespace ControlPlane.Domain.Tests.Commits;

/// <summary>Random contracts driven through random usage, true-ups and closes, checked against the rules of the book.</summary>
public sealed class ContractLedgerPropertyTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromDays(35);

    private static readonly Rate[] Rates = [new(1m, 2m), new(0.2m, 0.6m), new(3m, 15m), new(0.123457m, 9.876543m)];

    private abstract record Step;

    private sealed record UseStep(int Quarter, int Rate, long InputTokens, long OutputTokens) : Step;

    private sealed record TrueUpStep(long Cents, int Quarter, bool Retry) : Step;

    private sealed record CloseStep : Step;

    private sealed record CloseAgainStep(int Quarter) : Step;

    private static readonly Gen<ContractTerms> Terms =
        Gen.Select(
                Gen.Int[1, 8],
                Gen.Long[1, 50_000_000],
                Gen.Frequency((2, Gen.Const(0m)), (1, Gen.Const(12.5m)), (2, Gen.Int[0, 999_999].Select(d => d / 10_000m))),
                Gen.Frequency((2, Gen.Const(100m)), (1, Gen.Const(0m)), (2, Gen.Int[0, 1_000_000].Select(c => c / 10_000m))),
                Gen.Date[new DateTime(2020, 1, 1), new DateTime(2030, 12, 31)])
            .Select((quarters, commit, discount, cap, start) =>
                new ContractTerms("c-prop", "acme", DateOnly.FromDateTime(start), quarters, commit, discount, cap));

    private static readonly Gen<Step> Steps = Gen.Frequency<Step>(
        (8, Gen.Select(Gen.Int[1, 8], Gen.Int[0, Rates.Length - 1], Gen.Long[0, 20_000_000_000], Gen.Long[0, 5_000_000_000])
            .Select(Step (q, r, i, o) => new UseStep(q, r, i, o))),
        (1, Gen.Select(Gen.Long[-10, 20_000_000], Gen.Int[0, 9], Gen.Bool).Select(Step (c, q, retry) => new TrueUpStep(c, q, retry))),
        (2, Gen.Const<Step>(new CloseStep())),
        (1, Gen.Int[1, 8].Select(Step (q) => new CloseAgainStep(q))));

    [Fact]
    public void AnyContractLife_KeepsTheBookAndTheInvoicesExact()
    {
        Gen.Select(Terms, Steps.Array[0, 60]).Sample((terms, steps) =>
        {
            var calendar = terms.Calendar();
            var ledger = new ContractLedger();
            Assert.True(ledger.Open(terms, calendar.TermStart).IsSuccess);

            var clock = calendar.TermStart;
            var onTime = new Dictionary<int, List<UsageAggregate>>();
            var lateTokens = 0L;
            var frozen = new Dictionary<int, QuarterLine>();
            var closeInvoices = new Dictionary<int, Invoice>();
            var requestIds = 0;

            foreach (var step in steps)
            {
                switch (step)
                {
                    case UseStep use:
                        var quarter = (use.Quarter - 1) % terms.Quarters + 1;
                        var usage = new UsageAggregate($"m{use.Rate % 2}", Rates[use.Rate], use.InputTokens, use.OutputTokens);
                        var route = ledger.RecordUsage(quarter, usage);
                        Assert.Equal(quarter <= ledger.ClosedThrough ? UsageRoute.Late : UsageRoute.Quarter, route);
                        if (route == UsageRoute.Late)
                        {
                            lateTokens += usage.InputTokens + usage.OutputTokens;
                        }
                        else
                        {
                            (onTime.TryGetValue(quarter, out var list) ? list : onTime[quarter] = []).Add(usage);
                        }

                        break;

                    case TrueUpStep t:
                        var invoicesBefore = ledger.Invoices.Count;
                        var trueUpsBefore = ledger.TrueUps.Count;
                        var trueUp = new TrueUp(t.Cents, t.Quarter, $"r{requestIds++}");
                        var result = ledger.AddTrueUp(trueUp, clock);
                        var valid = t.Cents > 0 && t.Quarter >= ledger.FirstOpenQuarter && t.Quarter <= terms.Quarters;
                        Assert.Equal(valid, result.IsSuccess);
                        Assert.Equal(trueUpsBefore + (valid ? 1 : 0), ledger.TrueUps.Count);
                        Assert.Equal(valid && t.Quarter == ledger.FirstOpenQuarter, result.Value is not null);
                        Assert.Equal(invoicesBefore + (result.Value is null ? 0 : 1), ledger.Invoices.Count);
                        if (valid && t.Retry)
                        {
                            var retried = ledger.AddTrueUp(trueUp, clock.AddMinutes(1));
                            Assert.Equal(result.Value, retried.Value);
                            Assert.Equal(trueUpsBefore + 1, ledger.TrueUps.Count);
                        }

                        break;

                    case CloseStep when !ledger.TermClosed:
                        var k = ledger.FirstOpenQuarter;
                        clock = Max(clock, calendar.End(k) + Grace);
                        var preview = ledger.Preview(clock);
                        var closed = ledger.CloseQuarter(k, clock);
                        Assert.True(closed.IsSuccess);
                        Assert.Equal(preview, closed.Value);
                        // The quarter's usage is its on-time usage priced once, however it arrived.
                        Assert.Equal(Pricing.PriceCents(onTime.GetValueOrDefault(k) ?? [], terms.DiscountPercent), ledger.Book()[k - 1].UsageCents);
                        frozen[k] = ledger.Book()[k - 1];
                        closeInvoices[k] = closed.Value;
                        Assert.Empty(ledger.PendingLateUsage);
                        break;

                    case CloseAgainStep again when again.Quarter <= ledger.ClosedThrough:
                        var count = ledger.Invoices.Count;
                        var invoiced = ledger.InvoicedCents;
                        Assert.Equal(closeInvoices[again.Quarter], ledger.CloseQuarter(again.Quarter, clock.AddDays(400)).Value);
                        Assert.Equal(count, ledger.Invoices.Count);
                        Assert.Equal(invoiced, ledger.InvoicedCents);
                        break;

                    case CloseAgainStep skipped when skipped.Quarter > ledger.FirstOpenQuarter:
                        var refused = ledger.CloseQuarter(skipped.Quarter, clock.AddDays(400));
                        Assert.Equal(skipped.Quarter > terms.Quarters ? LedgerErrorKind.Invalid : LedgerErrorKind.Conflict, refused.Error?.Kind);
                        break;
                }

                CheckBook(ledger, terms);
                CheckFrozen(ledger, frozen);
                Assert.Equal(InvoicedSoFar(ledger), ledger.InvoicedCents);
            }

            // Finish the term, bill what is late after it, and count every dollar.
            while (!ledger.TermClosed)
            {
                var k = ledger.FirstOpenQuarter;
                clock = Max(clock, calendar.End(k) + Grace);
                Assert.True(ledger.CloseQuarter(k, clock).IsSuccess);
                frozen[k] = ledger.Book()[k - 1];
            }

            ledger.RecordUsage(1, new UsageAggregate("m0", Rates[0], 123_456_789, 0));
            lateTokens += 123_456_789;
            Assert.True(ledger.BillLateUsageAfterTerm(clock.AddDays(1)).IsSuccess);
            CheckFrozen(ledger, frozen);

            var book = ledger.Book();
            var late = ledger.BilledLateUsage.Sum(c => c.AmountCents);
            Assert.Equal(book.Sum(l => l.CommitCents) + book.Sum(l => l.OverageCents) + late, ledger.InvoicedCents);
            Assert.Equal(lateTokens, ledger.BilledLateUsage.Sum(c => c.Usage.Sum(u => u.InputTokens + u.OutputTokens)));
            Assert.Equal(
                onTime.Values.Sum(l => l.Sum(u => u.InputTokens + u.OutputTokens)) + lateTokens,
                ledger.UsageByModel().Sum(m => m.InputTokens + m.OutputTokens));
            Assert.Equal(ledger.Invoices.Count, ledger.Invoices.Select(i => i.InvoiceId).Distinct().Count());
            Assert.All(ledger.Invoices.SelectMany(i => i.Lines), l => Assert.True(l.AmountCents > 0));
        });
    }

    private static void CheckBook(ContractLedger ledger, ContractTerms terms)
    {
        var book = ledger.Book();
        Assert.Equal(terms.Quarters, book.Count);
        for (var i = 0; i < book.Count; i++)
        {
            var l = book[i];
            Assert.Equal(l.UsageCents, l.CoveredCents + l.OverageCents);
            Assert.Equal(l.AvailableCents, l.CoveredCents + l.UnusedCents);
            Assert.Equal(l.AvailableCents, l.CommitCents + l.RolloverInCents);
            Assert.True(l.RolloverOutCents <= l.UnusedCents);
            Assert.True(l is { CommitCents: > 0, RolloverInCents: >= 0, UsageCents: >= 0, OverageCents: >= 0, UnusedCents: >= 0, RolloverOutCents: >= 0 });
            Assert.Equal(i == 0 ? 0 : book[i - 1].RolloverOutCents, l.RolloverInCents);
            Assert.Equal(QuarterBook.CommitCents(terms, ledger.TrueUps, l.Quarter), l.CommitCents);
            Assert.Equal(l.Quarter <= ledger.ClosedThrough, l.Closed);
        }

        Assert.Equal(0, book[^1].RolloverOutCents);
    }

    private static void CheckFrozen(ContractLedger ledger, Dictionary<int, QuarterLine> frozen)
    {
        var book = ledger.Book();
        foreach (var (quarter, line) in frozen)
        {
            Assert.Equal(line, book[quarter - 1]);
        }
    }

    // Invoiced so far: the commit of every quarter up to the first open one, the overage of closed quarters, billed late usage.
    private static long InvoicedSoFar(ContractLedger ledger)
    {
        var book = ledger.Book();
        var commitsInvoiced = Math.Min(ledger.FirstOpenQuarter, book.Count);
        return book.Take(commitsInvoiced).Sum(l => l.CommitCents)
            + book.Where(l => l.Closed).Sum(l => l.OverageCents)
            + ledger.BilledLateUsage.Sum(c => c.AmountCents);
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
