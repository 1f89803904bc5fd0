using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;

namespace ControlPlane.Domain.Tests.Commits;

public sealed class PayAsYouGoTests
{
    private static readonly DateOnly October = new(2026, 10, 1);
    private static readonly DateOnly November = new(2026, 11, 1);
    private static readonly DateOnly December = new(2026, 12, 1);

    private static DateTimeOffset At(int year, int month, int day, int hour = 0) => new(year, month, day, hour, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("2026-10", "2026-10-01")]
    [InlineData("2020-01", "2020-01-01")]
    [InlineData("9998-12", "9998-12-01")]
    public void TryParse_Month_FirstDay(string text, string first)
    {
        Assert.True(BillingMonths.TryParse(text, out var month));
        Assert.Equal(DateOnly.Parse(first, System.Globalization.CultureInfo.InvariantCulture), month);
        Assert.Equal(text, BillingMonths.Format(month));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("2026-13")]
    [InlineData("2026-1")]
    [InlineData("2026-10-01")]
    [InlineData("October")]
    [InlineData("2019-12")]
    [InlineData("9999-12")]
    [InlineData(" 2026-10")]
    public void TryParse_NotAMonth_False(string? text) => Assert.False(BillingMonths.TryParse(text, out _));

    [Fact]
    public void Months_CalendarMonthsInUtc()
    {
        Assert.Equal(October, BillingMonths.Of(new DateTimeOffset(2026, 11, 1, 0, 30, 0, TimeSpan.FromHours(1))));
        Assert.Equal(At(2026, 11, 1), BillingMonths.End(October));
        Assert.Equal(29, BillingMonths.Days(new DateOnly(2028, 2, 1)).Count());
        Assert.Equal(new DateOnly(2026, 10, 31), BillingMonths.Days(October).Last());
    }

    [Fact]
    public void Close_UsageOfTwoModelsAndAPriceChange_ALinePerModelAndRateRoundedOnceEach()
    {
        var a = new Rate(3m, 15m);
        var newA = new Rate(4m, 16m);
        var b = new Rate(0.5m, 1.5m);
        var invoice = PayAsYouGoInvoicing.Close(
            "acme",
            October,
            [new("m-b", b, 1_000_000, 1_000_000), new("m-a", a, 2_000_000, 1_000_000), new("m-a", a, 1_234_567, 0), new("m-a", newA, 1, 1), new("m-c", b, 0, 0)],
            [(new DateOnly(2026, 9, 1), new UsageAggregate("m-a", a, 1_000_000, 0))],
            At(2026, 11, 4));

        Assert.NotNull(invoice);
        Assert.Equal("payg-acme-2026-10", invoice.InvoiceId);
        Assert.Equal(
            [
                // 3,234,567 x $3 + 1,000,000 x $15 = $24.703701: rounded once, on its line.
                new PayAsYouGoLine(PayAsYouGoLineKind.Usage, October, "m-a", a, 3_234_567, 1_000_000, 2470),
                new PayAsYouGoLine(PayAsYouGoLineKind.Usage, October, "m-a", newA, 1, 1, 0),
                new PayAsYouGoLine(PayAsYouGoLineKind.Usage, October, "m-b", b, 1_000_000, 1_000_000, 200),
                new PayAsYouGoLine(PayAsYouGoLineKind.LateUsage, new DateOnly(2026, 9, 1), "m-a", a, 1_000_000, 0, 300),
            ],
            invoice.Lines);
        Assert.Equal(2970, invoice.TotalCents);
    }

    [Fact]
    public void Close_NoTokens_NoInvoice() =>
        Assert.Null(PayAsYouGoInvoicing.Close("acme", October, [new("m", new Rate(1m, 1m), 0, 0)], [], At(2026, 11, 4)));

    [Fact]
    public void NoteUsage_OpenMonths_SortedOnceAndChangedOnlyWhenNew()
    {
        var account = new PayAsYouGoAccount();

        Assert.True(account.NoteUsage([November, October, November], At(2026, 11, 2)));
        Assert.False(account.NoteUsage([October], At(2026, 11, 2)));

        Assert.Equal([October, November], account.OpenMonths);
        Assert.Empty(account.LateMonths);
    }

    [Fact]
    public void CheckClose_NotEndedOrOutOfOrder_Conflict_ClosedAnswersAsBefore()
    {
        var account = new PayAsYouGoAccount();
        account.NoteUsage([October, November], At(2026, 11, 2));

        Assert.Equal(LedgerErrorKind.Conflict, account.CheckClose(November, At(2026, 11, 30, 23)).Error!.Kind);
        Assert.Contains("close 2026-10 first", account.CheckClose(November, At(2026, 12, 2)).Error!.Message, StringComparison.Ordinal);
        Assert.Null(account.CheckClose(October, At(2026, 11, 1)).Value);

        var invoice = account.Close("acme", October, [new("m", new Rate(1m, 1m), 1_000_000, 0)], [], [], At(2026, 11, 4));
        var again = account.CheckClose(October, At(2026, 11, 5));

        Assert.Equal(new ClosedMonth(October, At(2026, 11, 4), invoice!.InvoiceId), again.Value);
        Assert.Equal(invoice, account.InvoiceOf(October));
        Assert.Equal([November], account.OpenMonths);
    }

    [Fact]
    public void NoteUsage_ClosedMonth_LateAndTheCurrentMonthOpensToCarryIt()
    {
        var account = new PayAsYouGoAccount();
        account.NoteUsage([October], At(2026, 10, 2));
        account.Close("acme", October, [], [], [], At(2026, 11, 4));
        Assert.Empty(account.OpenMonths);

        Assert.True(account.NoteUsage([October], At(2026, 12, 9)));
        Assert.False(account.NoteUsage([October], At(2026, 12, 10)));

        Assert.Equal([October], account.LateMonths);
        Assert.Equal([December], account.OpenMonths);
        Assert.Equal([December], account.DueMonths(At(2027, 1, 4), TimeSpan.FromDays(3)));
        Assert.Empty(account.DueMonths(At(2027, 1, 3, 23), TimeSpan.FromDays(3)));
    }

    [Fact]
    public void Close_TakesLateMonths_AndOnlyThose()
    {
        var account = new PayAsYouGoAccount();
        account.NoteUsage([October], At(2026, 10, 2));
        account.Close("acme", October, [], [], [], At(2026, 11, 4));
        account.NoteUsage([October, November], At(2026, 11, 20));

        var rate = new Rate(1m, 2m);
        var invoice = account.Close("acme", November, [new("m", rate, 1_000_000, 0)], [October], [(October, new UsageAggregate("m", rate, 0, 1_000_000))], At(2026, 12, 4));

        Assert.Equal(["usage 2026-11 100", "late 2026-10 200"], invoice!.Lines.Select(l => $"{(l.Kind == PayAsYouGoLineKind.Usage ? "usage" : "late")} {BillingMonths.Format(l.Month)} {l.AmountCents}"));
        Assert.Empty(account.LateMonths);
        Assert.Equal([null, invoice.InvoiceId], account.ClosedMonths.Select(c => c.InvoiceId));
    }
}
