using System.Text;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Metering;
using ControlPlane.Grains.Metering;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Storage;
using Xunit;

namespace ControlPlane.Grains.Tests.Metering;

/// <summary>
/// A day stored before buckets had their own store: one grain-state row of <see cref="UsageBucketState"/>, its ids and
/// totals together. Golden/usage-bucket-state.json is such a payload exactly as Orleans' ADO.NET storage wrote it (taken
/// from the database under the previous code): 11 events, a contract ledger sealed with late usage billed to one invoice
/// and late usage pending, and a pay-as-you-go ledger.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class LegacyUsageBucketTests(AdoNetClusterFixture fixture) : IClassFixture<AdoNetClusterFixture>
{
    private const string Contract = "c-golden";
    private const string PayAsYouGo = "p-golden-customer";
    private static readonly Rate Llama = new(1.25m, 2.5m);

    private IGrainFactory Grains => fixture.Cluster.Client;

    [Fact]
    public async Task OldRecord_ReadsAsBefore_AndTheFirstCommitMovesItToTheStore()
    {
        var key = "usage:golden-" + Guid.NewGuid().ToString("N")[..8] + ":20260201";
        var bucket = Grains.GetGrain<IUsageBucketGrain>(key);
        await StoreOldRecordAsync(bucket.GetGrainId());

        await AssertGoldenTotalsAsync(bucket, lateInput: 11, lateOutput: 5);
        Assert.Equal(new RecordResult(0, 11), await bucket.RecordAsync(GoldenEvents()));
        Assert.Equal(
            new UsageAggregate("llama-70b", Llama, 16, 7),
            Assert.Single(await bucket.TakeLateUsageAsync(Contract, "inv-golden-1")));

        // The first commit: one new (late) event, and the old record's ids move to the store with it.
        Assert.Equal(new RecordResult(1, 1), await bucket.RecordAsync(
            [new MeteredEvent("golden-3", "llama-70b", Llama, 1, 1, Contract), new MeteredEvent("golden-11", "llama-70b", Llama, 100, 10, Contract)]));
        Assert.Equal(12 * 16, await Scalar<int>("SELECT sum(octet_length(Ids))::int FROM UsageBucketSeenIds WHERE BucketKey = @key", key));

        await fixture.Cluster.DeactivateAsync(bucket);
        await AssertGoldenTotalsAsync(bucket, lateInput: 111, lateOutput: 15);
        Assert.Equal(new RecordResult(0, 12), await bucket.RecordAsync([.. GoldenEvents(), new MeteredEvent("golden-11", "llama-70b", Llama, 100, 10, Contract)]));
    }

    [Fact]
    public async Task OldRecord_NeverCommittedAgain_IsStillReadAfterReactivation()
    {
        var key = "usage:golden-" + Guid.NewGuid().ToString("N")[..8] + ":20260201";
        var bucket = Grains.GetGrain<IUsageBucketGrain>(key);
        await StoreOldRecordAsync(bucket.GetGrainId());

        await bucket.SealAsync(Contract); // sealed already: nothing to commit
        await bucket.RecordAsync(GoldenEvents()); // all duplicates: nothing to commit
        await fixture.Cluster.DeactivateAsync(bucket);

        await AssertGoldenTotalsAsync(bucket, lateInput: 11, lateOutput: 5);
        Assert.Equal(0, await StoredVersions.ReadBucketAsync(fixture.ConnectionString, key));
    }

    [Fact]
    public async Task UsageDays_StoredDaysInOneReadAndOldOrEmptyDaysFromTheirBuckets_ReadAsEachBucketAnswers()
    {
        var customer = "golden-" + Guid.NewGuid().ToString("N")[..8];
        var days = new[] { new DateOnly(2026, 2, 1), new DateOnly(2026, 2, 2), new DateOnly(2026, 2, 3), new DateOnly(2026, 2, 4) };
        Assert.Equal("usage:" + customer + ":20260201", ControlPlane.Contracts.GrainKeys.UsageBucket(customer, days[0]));
        var buckets = days.Select(d => Grains.GetGrain<IUsageBucketGrain>(ControlPlane.Contracts.GrainKeys.UsageBucket(customer, d))).ToArray();

        // Day 1 is stored the old way; days 2 and 3 in the store (3 with two commits); day 4 holds nothing.
        await StoreOldRecordAsync(buckets[0].GetGrainId());
        await buckets[1].RecordAsync([new MeteredEvent("d2-1", "llama-70b", Llama, 10, 1, Contract)]);
        await buckets[2].RecordAsync([new MeteredEvent("d3-1", "llama-70b", Llama, 20, 2, Contract, "dep-a")]);
        await buckets[2].RecordAsync([new MeteredEvent("d3-2", "llama-70b", Llama, 30, 3, Contract, "dep-a")]);
        foreach (var bucket in buckets)
        {
            await fixture.Cluster.DeactivateAsync(bucket);
        }

        var services = fixture.Cluster.Silos[0].ServiceProvider;
        var store = services.GetRequiredService<IUsageBucketStore>();
        var stored = await store.ReadTotalsAsync(buckets.Select(b => b.GetGrainId()).ToArray());
        Assert.Equal([buckets[1].GetGrainId(), buckets[2].GetGrainId()], stored.Keys.OrderBy(k => k.Key.ToString(), StringComparer.Ordinal));
        Assert.Equal(2, stored[buckets[2].GetGrainId()].Version);

        var read = await UsageDays.ReadAsync(store, services.GetRequiredService<Orleans.Serialization.Serializer<UsageBucketTotals>>(), Grains, customer, Contract, days);

        Assert.Equal(new UsageAggregate("llama-70b", Llama, 6_015, 75), Assert.Single(read[0].Counted));
        Assert.True(read[0].Sealed);
        Assert.Equal(new UsageAggregate("llama-70b", Llama, 10, 1), Assert.Single(read[1].Counted));
        Assert.Equal(new UsageAggregate("llama-70b", Llama, 50, 5), Assert.Single(read[2].Counted));
        Assert.Equal(new UsageAggregate("llama-70b", Llama, 50, 5), Assert.Single(read[2].ByDeployment!["dep-a"]));
        Assert.Empty(read[3].Counted);
        for (var i = 0; i < days.Length; i++)
        {
            var asked = await buckets[i].GetAsync(Contract);
            Assert.Equal(asked.Counted, read[i].Counted);
            Assert.Equal(asked.PendingLate, read[i].PendingLate);
            Assert.Equal(asked.Sealed, read[i].Sealed);
        }
    }

    private static List<MeteredEvent> GoldenEvents() =>
        [.. Enumerable.Range(0, 11).Select(i => new MeteredEvent($"golden-{i}", "llama-70b", Llama, 1, 1, Contract))];

    private static async Task AssertGoldenTotalsAsync(IUsageBucketGrain bucket, long lateInput, long lateOutput)
    {
        var contract = await bucket.GetAsync(Contract);
        Assert.True(contract.Sealed);
        Assert.Equal(new UsageAggregate("llama-70b", Llama, 6_015, 75), Assert.Single(contract.Counted));
        Assert.Equal(new UsageAggregate("llama-70b", Llama, lateInput, lateOutput), Assert.Single(contract.PendingLate));
        var payAsYouGo = await bucket.GetAsync(PayAsYouGo);
        Assert.False(payAsYouGo.Sealed);
        Assert.Equal(new UsageAggregate("mistral-7b", new Rate(0.2m, 0.4m), 1_000, 100), Assert.Single(payAsYouGo.Counted));
        Assert.Empty(payAsYouGo.PendingLate);
    }

    /// <summary>The golden payload in the row Orleans' storage keeps for the bucket's old state (its key columns written by Orleans).</summary>
    private async Task StoreOldRecordAsync(GrainId bucket)
    {
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(UsageBucketGrain.LegacyStorageName);
        await storage.WriteStateAsync(UsageBucketGrain.LegacyStateName, bucket, new GrainState<UsageBucketState>(new UsageBucketState()));
        var golden = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "Metering", "Golden", "usage-bucket-state.json"), TestContext.Current.CancellationToken);
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand(
            "UPDATE OrleansGrainState SET PayloadBinary = @payload WHERE GrainTypeString = @state AND GrainIdExtensionString = @key", connection);
        command.Parameters.AddWithValue("payload", golden);
        command.Parameters.AddWithValue("state", UsageBucketGrain.LegacyStateName);
        command.Parameters.AddWithValue("key", bucket.Key.ToString()!);
        Assert.Equal(1, await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
        Assert.StartsWith("{\"$id\":\"1\",\"$type\":\"ControlPlane.Grains.Metering.UsageBucketState, ControlPlane.Grains\"", Encoding.UTF8.GetString(golden), StringComparison.Ordinal);
    }

    private async Task<T> Scalar<T>(string sql, string key)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("key", key);
        return (T)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }
}
