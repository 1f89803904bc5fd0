using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;
using ControlPlane.Domain.Slas;

namespace ControlPlane.Domain.Tests.Slas;

public sealed class ContractLedgerSlaTests
{
    // Q1 of this term is November to January: its months end on 1 December, 1 January and 1 February.
    private static readonly ContractTerms Contract = new("acme-sla", "acme", new DateOnly(2025, 11, 1), 2, 1_000_000, 20m);
    private static readonly DateTimeOffset Opened = new(2025, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly SloTerms Monthly = new("acme-chat", SloPeriod.Monthly, 99.9m, [new(99.9m, 10m), new(99m, 25m)], Opened.AddDays(3));

    private static ContractLedger Ledger()
    {
        var ledger = new ContractLedger();
        Assert.True(ledger.Open(Contract, Opened).IsSuccess);
        return ledger;
    }

    private static List<SlaPeriodInput> Inputs(ContractLedger ledger, int quarter, Func<SloPeriodSpan, SloMeasurement> measure) =>
        ledger.SlaPeriods(quarter)
            .Select(p => new SlaPeriodInput(p.Terms, p.Period, measure(p.Period), [new UsageAggregate("m", new Rate(3m, 15m), 10_000_000, 1_000_000)]))
            .ToList();

    private static long MinutesOf(SloPeriodSpan p) => (long)(p.EndAt - p.StartAt).TotalMinutes;

    [Fact]
    public void SetSlo_Invalid_RefusedAndNothingChanged()
    {
        var ledger = Ledger();
        var refused = ledger.SetSlo(Monthly with { Credits = [] });
        Assert.Equal(LedgerErrorKind.Invalid, refused.Error!.Kind);
        Assert.Empty(ledger.Slos);
    }

    [Fact]
    public void SetSlo_SameTermsAgain_KeptOnce()
    {
        var ledger = Ledger();
        Assert.True(ledger.SetSlo(Monthly).IsSuccess);
        Assert.Equal(Monthly, ledger.SetSlo(Monthly with { SetAt = Monthly.SetAt.AddHours(1), Credits = [new(99.9m, 10m), new(99m, 25m)] }).Value);
        Assert.Single(ledger.Slos);
    }

    [Fact]
    public void SlaPeriods_TheMonthsOfTheQuarterWithTheTermsInForceAtTheirEnds()
    {
        var ledger = Ledger();
        ledger.SetSlo(Monthly);
        var stricter = Monthly with { TargetPercent = 99.95m, Credits = [new(99.95m, 20m)], SetAt = new DateTimeOffset(2025, 12, 10, 0, 0, 0, TimeSpan.Zero) };
        ledger.SetSlo(stricter);
        var periods = ledger.SlaPeriods(1);
        Assert.Equal([new DateOnly(2025, 11, 1), new DateOnly(2025, 12, 1), new DateOnly(2026, 1, 1)], periods.Select(p => p.Period.Start));
        Assert.Equal([99.9m, 99.95m, 99.95m], periods.Select(p => p.Terms.TargetPercent));
    }

    [Fact]
    public void CloseQuarter_APeriodBelowTarget_OneSlaCreditLineOnTheCloseInvoiceOnly_EqualToThePreview()
    {
        var ledger = Ledger();
        ledger.SetSlo(Monthly);
        // January lost 100 of its minutes (99.78%): 10% of $45 at 20% off = $3.60. November and December were perfect.
        var inputs = Inputs(ledger, 1, p => p.Start.Month == 1 ? new SloMeasurement(MinutesOf(p), MinutesOf(p) - 100, 60) : new SloMeasurement(MinutesOf(p), MinutesOf(p), 0));
        var at = new DateTimeOffset(2026, 2, 1, 0, 5, 0, TimeSpan.Zero);
        var preview = ledger.Preview(at, inputs);
        var closed = ledger.CloseQuarter(1, at, inputs).Value;
        Assert.Equal(preview, closed);
        var credit = Assert.Single(closed.Lines, l => l.Kind == InvoiceLineKind.SlaCredit);
        Assert.Equal(-360, credit.AmountCents);
        Assert.Equal((44_640L, 44_540L, 60L, 10m), (credit.Sla!.Minutes, credit.Sla.MetMinutes, credit.Sla.MissedMinutes, credit.Sla.CreditPercent));
        Assert.Equal(1_000_000 - 360, closed.TotalCents);

        // Asked again, even with other measurements: the same invoice, nothing credited twice.
        var again = ledger.CloseQuarter(1, at.AddDays(1), Inputs(ledger, 1, p => new SloMeasurement(MinutesOf(p), 0, MinutesOf(p))));
        Assert.Equal(closed, again.Value);
        Assert.Single(ledger.Invoices.SelectMany(i => i.Lines), l => l.Kind == InvoiceLineKind.SlaCredit);
    }

    [Fact]
    public void CloseQuarter_InputsOfAnotherQuarter_Ignored()
    {
        var ledger = Ledger();
        ledger.SetSlo(Monthly);
        var q2 = Inputs(ledger, 2, p => new SloMeasurement(MinutesOf(p), 0, MinutesOf(p)));
        var closed = ledger.CloseQuarter(1, new DateTimeOffset(2026, 2, 2, 0, 0, 0, TimeSpan.Zero), q2).Value;
        Assert.DoesNotContain(closed.Lines, l => l.Kind == InvoiceLineKind.SlaCredit);
    }

    [Fact]
    public void SetSlo_AfterTheTermClosed_Conflict()
    {
        var ledger = Ledger();
        ledger.CloseQuarter(1, new DateTimeOffset(2026, 2, 2, 0, 0, 0, TimeSpan.Zero));
        ledger.CloseQuarter(2, new DateTimeOffset(2026, 5, 2, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(LedgerErrorKind.Conflict, ledger.SetSlo(Monthly).Error!.Kind);
    }
}
