using ControlPlane.Contracts;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Metering;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Metering;

/// <summary>
/// The price list and the usage buckets when their storage fails: a price is believed only once written, and a batch
/// whose write failed is counted when it is sent again, once, whether or not the failed write landed.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class MeteringWriteTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    private static readonly Rate ListRate = new(1m, 2m);

    private IGrainFactory Grains => fixture.Cluster.Client;

    [Fact]
    public async Task SetPriceAsync_RetryAfterAFailedWrite_IsWrittenAndSurvivesReactivation()
    {
        var prices = Grains.GetGrain<IPriceListGrain>(GrainKeys.PriceList);
        var model = "model-" + Guid.NewGuid().ToString("N")[..8];
        var from = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await prices.GetAsync();
        fixture.Faults.FailWrites(prices);

        await Assert.ThrowsAnyAsync<Exception>(() => prices.SetPriceAsync(model, ListRate, from));
        Assert.False((await prices.GetAsync()).Models.ContainsKey(model));
        await prices.SetPriceAsync(model, ListRate, from);

        await fixture.Cluster.DeactivateAsync(prices);
        Assert.Equal(ListRate, Assert.Single((await prices.GetAsync()).Models[model]).Rate);
    }

    [Fact]
    public async Task RecordAsync_WriteFailed_TheResentBatchIsCountedOnce()
    {
        var bucket = NewBucket();
        fixture.Faults.FailWrites(bucket);

        await Assert.ThrowsAnyAsync<Exception>(() => bucket.RecordAsync(Events("f", 10)));
        Assert.Empty((await bucket.GetAsync(Ledger)).Counted);
        Assert.Equal(new RecordResult(10, 0), await bucket.RecordAsync(Events("f", 10)));

        await fixture.Cluster.DeactivateAsync(bucket);
        Assert.Equal(10_000, Assert.Single((await bucket.GetAsync(Ledger)).Counted).InputTokens);
    }

    [Fact]
    public async Task RecordAsync_WrittenButTheAnswerLost_TheResentBatchIsAllDuplicates()
    {
        var bucket = NewBucket();
        fixture.Faults.FailWritesAfterStoring(bucket);

        await Assert.ThrowsAnyAsync<Exception>(() => bucket.RecordAsync(Events("w", 10)));
        Assert.Equal(new RecordResult(0, 10), await bucket.RecordAsync(Events("w", 10)));

        await fixture.Cluster.DeactivateAsync(bucket);
        Assert.Equal(10_000, Assert.Single((await bucket.GetAsync(Ledger)).Counted).InputTokens);
    }

    [Fact]
    public async Task GetAsync_AfterReactivation_ReadsTheTotalsWithoutTheIdsCounted()
    {
        var bucket = NewBucket();
        await bucket.RecordAsync(Events("v", 10));
        await fixture.Cluster.DeactivateAsync(bucket);
        fixture.Faults.FailSeenReads(bucket);

        // A contract's view reads totals only: a failing read of the ids does not reach it.
        Assert.Equal(10_000, Assert.Single((await bucket.GetAsync(Ledger)).Counted).InputTokens);

        // The next batch needs the ids: it fails, counts nothing, and its resend counts only the new events.
        await Assert.ThrowsAnyAsync<Exception>(() => bucket.RecordAsync(Events("v", 12)));
        Assert.Equal(10_000, Assert.Single((await bucket.GetAsync(Ledger)).Counted).InputTokens);
        Assert.Equal(new RecordResult(2, 10), await bucket.RecordAsync(Events("v", 12)));
        Assert.Equal(12_000, Assert.Single((await bucket.GetAsync(Ledger)).Counted).InputTokens);
    }

    [Fact]
    public async Task RecordAsync_WriteFailedWithOtherBatchesWaiting_EachResentBatchCountsOnce()
    {
        var bucket = NewBucket();
        await bucket.RecordAsync(Events("g", 1));
        fixture.Faults.FailWrites(bucket);

        // However the batches fall into groups, those of the failed group count nothing; their resends count once.
        var first = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Settle(bucket.RecordAsync(Events($"g{i}", 100)))));
        var resent = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => bucket.RecordAsync(Events($"g{i}", 100))));

        Assert.Contains(first, r => r is null);
        Assert.Equal(8 * 100, first.Sum(r => r?.Accepted ?? 0) + resent.Sum(r => r.Accepted));
        await fixture.Cluster.DeactivateAsync(bucket);
        Assert.Equal(801_000, Assert.Single((await bucket.GetAsync(Ledger)).Counted).InputTokens);
        Assert.Equal(new RecordResult(0, 100), await bucket.RecordAsync(Events("g5", 100)));
    }

    [Fact]
    public async Task SealAsync_RetryAfterAFailedWrite_IsWritten()
    {
        var bucket = NewBucket();
        await bucket.RecordAsync(Events("s", 3));
        fixture.Faults.FailWrites(bucket);

        await Assert.ThrowsAnyAsync<Exception>(() => bucket.SealAsync(Ledger));
        Assert.False((await bucket.GetAsync(Ledger)).Sealed);
        Assert.Equal(3_000, Assert.Single(await bucket.SealAsync(Ledger)).InputTokens);

        await fixture.Cluster.DeactivateAsync(bucket);
        Assert.True((await bucket.GetAsync(Ledger)).Sealed);
    }

    private const string Ledger = "c-write-faults";

    private static async Task<RecordResult?> Settle(Task<RecordResult> record)
    {
        try
        {
            return await record;
        }
        catch (Exception)
        {
            return null;
        }
    }

    private IUsageBucketGrain NewBucket() =>
        Grains.GetGrain<IUsageBucketGrain>(GrainKeys.UsageBucket("customer-" + Guid.NewGuid().ToString("N")[..8], new DateOnly(2026, 2, 1)));

    private static List<MeteredEvent> Events(string prefix, int count) =>
        Enumerable.Range(0, count).Select(i => new MeteredEvent($"{prefix}-{i}", "llama-70b", ListRate, 1_000, 10, Ledger)).ToList();
}
