using ControlPlane.Contracts;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Metering;
using ControlPlane.Grains.Metering;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit;

namespace ControlPlane.Grains.Tests.Metering;

/// <summary>The usage bucket on real PostgreSQL storage: exactly-once counting, group commit, seal and late usage.</summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class UsageBucketGrainTests(AdoNetClusterFixture fixture) : IClassFixture<AdoNetClusterFixture>
{
    private static readonly Rate ListRate = new(1m, 2m);

    private IGrainFactory Grains => fixture.Cluster.Client;

    private const string Contract = "c-bucket-test";
    private const string PayAsYouGo = "p-bucket-test";

    private static string NewBucket() =>
        GrainKeys.UsageBucket("customer-" + Guid.NewGuid().ToString("N")[..8], new DateOnly(2026, 2, 1));

    private static List<MeteredEvent> Events(string prefix, int from, int count, string ledger = Contract) =>
        Enumerable.Range(from, count).Select(i => new MeteredEvent($"{prefix}-{i}", "llama-70b", ListRate, 1_000, 10, ledger)).ToList();

    [Fact]
    public async Task RecordAsync_ConcurrentOverlappingBatches_CountEachEventOnceInFewWrites()
    {
        var key = NewBucket();
        var bucket = Grains.GetGrain<IUsageBucketGrain>(key);

        // 40 batches of 100 events; batch i overlaps batch i-1 by 50 events: 2,050 distinct events.
        var batches = Enumerable.Range(0, 40).Select(i => Events("e", i * 50, 100)).ToArray();
        var results = await Task.WhenAll(batches.Select(b => bucket.RecordAsync(b)));

        Assert.Equal(2_050, results.Sum(r => r.Accepted));
        Assert.Equal(4_000 - 2_050, results.Sum(r => r.Duplicates));
        var totals = await bucket.GetAsync(Contract);
        var usage = Assert.Single(totals.Counted);
        Assert.Equal(2_050L * 1_000, usage.InputTokens);
        Assert.Equal(2_050L * 10, usage.OutputTokens);
        // Group commit: concurrent batches share writes (one write per batch would make the version 40).
        Assert.InRange(await StoredVersionAsync(key), 1, 39);
    }

    [Fact]
    public async Task RecordAsync_AfterDeactivation_StillKnowsWhatItCounted()
    {
        var bucket = Grains.GetGrain<IUsageBucketGrain>(NewBucket());
        await bucket.RecordAsync(Events("d", 0, 10));

        await fixture.Cluster.DeactivateAsync(bucket);
        var again = await bucket.RecordAsync(Events("d", 5, 10));

        Assert.Equal(new RecordResult(5, 5), again);
        Assert.Equal(15_000, Assert.Single((await bucket.GetAsync(Contract)).Counted).InputTokens);
    }

    [Fact]
    public async Task SealAsync_ThenRecord_LaterEventsAreLateAndHandedToOneInvoiceOnce()
    {
        var bucket = Grains.GetGrain<IUsageBucketGrain>(NewBucket());
        await bucket.RecordAsync(Events("s", 0, 3));

        var frozen = await bucket.SealAsync(Contract);
        await bucket.RecordAsync(Events("s", 2, 3)); // one duplicate, two late
        var frozenAgain = await bucket.SealAsync(Contract);
        var late = await bucket.TakeLateUsageAsync(Contract, "inv-1");
        var retried = await bucket.TakeLateUsageAsync(Contract, "inv-1");
        var next = await bucket.TakeLateUsageAsync(Contract, "inv-2");

        Assert.Equal(3_000, Assert.Single(frozen).InputTokens);
        Assert.Equal(frozen, frozenAgain);
        Assert.Equal(2_000, Assert.Single(late).InputTokens);
        Assert.Equal(late, retried);
        Assert.Empty(next);
        var totals = await bucket.GetAsync(Contract);
        Assert.True(totals.Sealed);
        Assert.Equal(3_000, Assert.Single(totals.Counted).InputTokens);
        Assert.Empty(totals.PendingLate);
    }

    [Fact]
    public async Task RecordAsync_SameRateWithOtherDecimalScale_SharesOneAggregate()
    {
        var bucket = Grains.GetGrain<IUsageBucketGrain>(NewBucket());

        await bucket.RecordAsync([new MeteredEvent("a", "m", new Rate(1.0m, 2.00m), 1, 1, Contract)]);
        await bucket.RecordAsync([new MeteredEvent("b", "m", new Rate(1m, 2m), 1, 1, Contract)]);

        Assert.Equal(2, Assert.Single((await bucket.GetAsync(Contract)).Counted).InputTokens);
    }

    [Fact]
    public async Task RecordAsync_EventResentToAnotherLedger_IsStillADuplicate()
    {
        var bucket = Grains.GetGrain<IUsageBucketGrain>(NewBucket());
        await bucket.RecordAsync(Events("x", 0, 2, PayAsYouGo));

        // A contract covering the day was created since: the same events now route to it.
        var resent = await bucket.RecordAsync(Events("x", 0, 3, Contract));

        Assert.Equal(new RecordResult(1, 2), resent);
        Assert.Equal(2_000, Assert.Single((await bucket.GetAsync(PayAsYouGo)).Counted).InputTokens);
        Assert.Equal(1_000, Assert.Single((await bucket.GetAsync(Contract)).Counted).InputTokens);
    }

    [Fact]
    public async Task RecordAsync_ACommit_AppendsOnlyTheIdsItCountedBesideTheTotals()
    {
        var key = NewBucket();
        var bucket = Grains.GetGrain<IUsageBucketGrain>(key);

        await bucket.RecordAsync(Events("a", 0, 10));
        await bucket.RecordAsync(Events("a", 5, 10)); // five new
        await bucket.RecordAsync(Events("a", 0, 15)); // all duplicates: nothing to write
        await bucket.SealAsync(Contract); // totals only

        Assert.Equal([(1, 160), (2, 80)], await SeenRowsAsync(key));
        Assert.Equal(3, await StoredVersionAsync(key));
        // Nothing in Orleans' grain state: the totals have their own row.
        Assert.Equal(0, await StoredVersions.ReadAsync(fixture.ConnectionString, UsageBucketGrain.LegacyStateName, key));
    }

    [Fact]
    public async Task RecordAsync_AnotherActivationCommittedMeanwhile_FailsAndTheResendCountsOnlyWhatIsNew()
    {
        var key = NewBucket();
        var bucket = Grains.GetGrain<IUsageBucketGrain>(key);
        await bucket.RecordAsync(Events("r", 0, 2));

        // As an activation of the same bucket on another silo would (during a failover): it counted event r-2.
        var store = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IUsageBucketStore>();
        var other = await store.ReadTotalsAsync(bucket.GetGrainId());
        var seen = new byte[16];
        UsageBucketGrain.EventKey("r-2").TryWriteBytes(seen);
        await store.CommitAsync(bucket.GetGrainId(), other!.Version, other.Totals, seen);

        // This activation's commit is over a version that is gone: it writes nothing, and the resend finds r-2 counted.
        await Assert.ThrowsAnyAsync<Exception>(() => bucket.RecordAsync(Events("r", 2, 2)));
        Assert.Equal(new RecordResult(1, 1), await bucket.RecordAsync(Events("r", 2, 2)));

        await fixture.Cluster.DeactivateAsync(bucket);
        Assert.Equal(new RecordResult(0, 4), await bucket.RecordAsync(Events("r", 0, 4)));
        // r-2 was counted in the other activation's ids but not in its totals (this test wrote the totals unchanged).
        Assert.Equal(3_000, Assert.Single((await bucket.GetAsync(Contract)).Counted).InputTokens);
    }

    private Task<int> StoredVersionAsync(string key) => StoredVersions.ReadBucketAsync(fixture.ConnectionString, key);

    private async Task<List<(int Version, int Bytes)>> SeenRowsAsync(string key)
    {
        var rows = new List<(int, int)>();
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand("SELECT Version, octet_length(Ids) FROM UsageBucketSeenIds WHERE BucketKey = @key ORDER BY Version", connection);
        command.Parameters.AddWithValue("key", key);
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            rows.Add((reader.GetInt32(0), reader.GetInt32(1)));
        }

        return rows;
    }
}
