using ControlPlane.Contracts;
using ControlPlane.Contracts.Commits;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Commits;

/// <summary>
/// A pay-as-you-go month's close when the book's storage fails: the close is believed only once written, and asked for
/// again it bills every token once, with what arrived in between, whether or not the failed write landed.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class PayAsYouGoWriteTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    private static readonly DateOnly September = new(2026, 9, 1);
    private static readonly Rate ListRate = new(1m, 2m);

    private IGrainFactory Grains => fixture.Cluster.Client;

    [Fact]
    public async Task CloseMonthAsync_WriteFailed_RetryBillsWhatArrivedMeanwhileOnceAndSurvivesReactivation()
    {
        var customer = "payg-w-" + Guid.NewGuid().ToString("N")[..8];
        var book = Grains.GetGrain<IPayAsYouGoGrain>(GrainKeys.PayAsYouGo(customer));
        await RecordAsync(customer, "a", new DateOnly(2026, 9, 3), 1_000_000);
        fixture.Faults.FailWrites(book);

        await Assert.ThrowsAnyAsync<Exception>(() => book.CloseMonthAsync(September));
        Assert.Empty(await book.GetInvoicesAsync());
        // The failed attempt sealed the day: this event is counted after the seal, and still September's usage.
        await RecordAsync(customer, "b", new DateOnly(2026, 9, 3), 2_000_000);
        var preview = await book.PreviewAsync(September);
        var closed = await book.CloseMonthAsync(September);

        Assert.True(closed.Closed);
        Assert.Equal([new PayAsYouGoLine(PayAsYouGoLineKind.Usage, September, "m", ListRate, 3_000_000, 0, 300)], closed.Invoice!.Lines);
        Assert.Equal(closed.Invoice.Lines, preview.Invoice!.Lines);
        await fixture.Cluster.DeactivateAsync(book);
        Assert.Equal([closed.Invoice], await book.GetInvoicesAsync());
        Assert.Equal(closed.Invoice, (await book.CloseMonthAsync(September)).Invoice);
    }

    [Fact]
    public async Task CloseMonthAsync_WrittenButTheAnswerLost_AskedAgainAnswersTheStoredInvoice()
    {
        var customer = "payg-l-" + Guid.NewGuid().ToString("N")[..8];
        var book = Grains.GetGrain<IPayAsYouGoGrain>(GrainKeys.PayAsYouGo(customer));
        await RecordAsync(customer, "a", new DateOnly(2026, 9, 30), 1_000_000);
        fixture.Faults.FailWritesAfterStoring(book);

        await Assert.ThrowsAnyAsync<Exception>(() => book.CloseMonthAsync(September));
        var invoices = await book.GetInvoicesAsync();
        var again = await book.CloseMonthAsync(September);

        Assert.Equal(100, Assert.Single(invoices).TotalCents);
        Assert.Equal(invoices[0], again.Invoice);
        // Late usage now: on the next invoice, never on September's.
        await RecordAsync(customer, "late", new DateOnly(2026, 9, 30), 1_000_000);
        Assert.Equal(invoices, await book.GetInvoicesAsync());
        var next = (await book.PreviewAsync(null)).Invoice!;
        Assert.Equal([new PayAsYouGoLine(PayAsYouGoLineKind.LateUsage, September, "m", ListRate, 1_000_000, 0, 100)], next.Lines);
    }

    [Fact]
    public async Task CloseMonthAsync_UsageTheBookNeverHeardOf_OperatorCloseBillsIt()
    {
        // Counted before the book existed (an older version): the bucket holds it, the book knows no month.
        var customer = "payg-o-" + Guid.NewGuid().ToString("N")[..8];
        var book = Grains.GetGrain<IPayAsYouGoGrain>(GrainKeys.PayAsYouGo(customer));
        await Grains.GetGrain<IUsageBucketGrain>(GrainKeys.UsageBucket(customer, new DateOnly(2026, 9, 15)))
            .RecordAsync([new MeteredEvent("old", "m", ListRate, 0, 1_000_000, GrainKeys.PayAsYouGoLedger(customer))]);

        Assert.Null((await book.PreviewAsync(September)).Invoice);
        var closed = await book.CloseMonthAsync(September);

        Assert.Equal([new PayAsYouGoLine(PayAsYouGoLineKind.Usage, September, "m", ListRate, 0, 1_000_000, 200)], closed.Invoice!.Lines);
    }

    /// <summary>What the usage ingest does: the bucket stores the event, then the book hears of its month.</summary>
    private async Task RecordAsync(string customer, string eventId, DateOnly day, long inputTokens)
    {
        await Grains.GetGrain<IUsageBucketGrain>(GrainKeys.UsageBucket(customer, day))
            .RecordAsync([new MeteredEvent(eventId, "m", ListRate, inputTokens, 0, GrainKeys.PayAsYouGoLedger(customer))]);
        await Grains.GetGrain<IPayAsYouGoGrain>(GrainKeys.PayAsYouGo(customer)).UsageRecordedAsync([BillingMonths.Of(day)]);
    }
}
