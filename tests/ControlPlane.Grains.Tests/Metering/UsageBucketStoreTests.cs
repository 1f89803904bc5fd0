using ControlPlane.Grains.Metering;
using ControlPlane.Server.Storage;
using ControlPlane.Testing;
using Npgsql;
using Orleans.Storage;
using Xunit;

namespace ControlPlane.Grains.Tests.Metering;

/// <summary>
/// The rules every <see cref="IUsageBucketStore"/> keeps, checked on each: PostgreSQL (production) and memory (the
/// embedded server). A commit is all or nothing and only over the version read; the ids are append-only and read up to
/// a version.
/// </summary>
public abstract class UsageBucketStoreTests
{
    protected abstract Task<IUsageBucketStore> StoreAsync();

    private static GrainId NewBucket() => GrainId.Create("usagebucket", "usage:store-" + Guid.NewGuid().ToString("N")[..8] + ":20260201");

    private static byte[] Ids(params byte[] firstBytes) =>
        [.. firstBytes.SelectMany(b => Enumerable.Repeat(b, 16))];

    [Fact]
    public async Task CommitAsync_FirstAndNext_KeepTheLastTotalsAndEveryIdInOrder()
    {
        var store = await StoreAsync();
        var bucket = NewBucket();

        Assert.Null(await store.ReadTotalsAsync(bucket));
        Assert.Equal(1, await store.CommitAsync(bucket, null, [1], Ids(1, 2)));
        Assert.Equal(2, await store.CommitAsync(bucket, 1, [2], ReadOnlyMemory<byte>.Empty));
        Assert.Equal(3, await store.CommitAsync(bucket, 2, [3, 3], Ids(3)));

        var totals = await store.ReadTotalsAsync(bucket);
        Assert.Equal([3, 3], totals!.Totals);
        Assert.Equal(3, totals.Version);
        Assert.Equal(Ids(1, 2, 3), await SeenAsync(store, bucket, 3));
        Assert.Equal(Ids(1, 2), await SeenAsync(store, bucket, 2));
    }

    [Fact]
    public async Task CommitAsync_OverAVersionThatIsGone_WritesNothing()
    {
        var store = await StoreAsync();
        var bucket = NewBucket();
        await store.CommitAsync(bucket, null, [1], Ids(1));

        await Assert.ThrowsAsync<InconsistentStateException>(() => store.CommitAsync(bucket, null, [9], Ids(9)));
        await store.CommitAsync(bucket, 1, [2], Ids(2));
        await Assert.ThrowsAsync<InconsistentStateException>(() => store.CommitAsync(bucket, 1, [9], Ids(9)));
        await Assert.ThrowsAsync<InconsistentStateException>(() => store.CommitAsync(NewBucket(), 1, [9], Ids(9)));

        Assert.Equal([2], (await store.ReadTotalsAsync(bucket))!.Totals);
        Assert.Equal(Ids(1, 2), await SeenAsync(store, bucket, int.MaxValue));
    }

    private static async Task<byte[]> SeenAsync(IUsageBucketStore store, GrainId bucket, int version)
    {
        var seen = new List<byte>();
        await store.ReadSeenAsync(bucket, version, chunk => seen.AddRange(chunk.ToArray()));
        return [.. seen];
    }
}

public sealed class MemoryUsageBucketStoreTests : UsageBucketStoreTests
{
    protected override Task<IUsageBucketStore> StoreAsync() => Task.FromResult<IUsageBucketStore>(new MemoryUsageBucketStore());
}

[Collection(PostgresFixture.CollectionName)]
public sealed class PostgresUsageBucketStoreTests(PostgresFixture postgres) : UsageBucketStoreTests, IAsyncDisposable
{
    private NpgsqlDataSource? _dataSource;

    protected override async Task<IUsageBucketStore> StoreAsync()
    {
        var db = await postgres.CreateDatabaseAsync("bucket_store_" + Guid.NewGuid().ToString("N")[..8], TestContext.Current.CancellationToken);
        await new PostgresMigrator().MigrateAsync(db, TestContext.Current.CancellationToken);
        _dataSource = NpgsqlDataSource.Create(db);
        return new PostgresUsageBucketStore(_dataSource, "service-a");
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }
    }
}
