using ControlPlane.Contracts;
using ControlPlane.Contracts.Pools;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Pools;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ControlPlane.Grains.Tests.Pools;

/// <summary>The pool grain (a group commit) when its storage fails.</summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class PoolGrainWriteTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    private static NodeCapacity Node(string region, int i, long version = 1) =>
        new($"node-{i:D4}", region, NodeStatus.Ready, "h200-141gb", 8, 8, version);

    [Fact]
    public async Task UpdateNodeAsync_WriteFails_TheUpdateIsNotCountedUntilSentAgain()
    {
        var region = "region-" + Guid.NewGuid().ToString("N")[..8];
        var pool = fixture.Cluster.Client.GetGrain<IPoolGrain>(GrainKeys.Pool(region));
        await pool.UpdateNodeAsync(Node(region, 1));
        fixture.Faults.FailWrites(pool);

        await Assert.ThrowsAnyAsync<Exception>(() => pool.UpdateNodeAsync(Node(region, 2)));
        Assert.Equal(8, (await pool.GetTotalsAsync()).GpusTotal);
        await pool.UpdateNodeAsync(Node(region, 2));

        await fixture.Cluster.DeactivateAsync(pool);
        Assert.Equal(16, (await pool.GetTotalsAsync()).GpusTotal);
    }

    [Fact]
    public async Task UpdateNodeAsync_WriteAndReloadFail_BothAreLoggedAndTheNextActivationReadsTheStore()
    {
        var region = "region-" + Guid.NewGuid().ToString("N")[..8];
        var pool = fixture.Cluster.Client.GetGrain<IPoolGrain>(GrainKeys.Pool(region));
        await pool.UpdateNodeAsync(Node(region, 1));
        fixture.Faults.FailWrites(pool);
        fixture.Faults.FailReads(pool);

        await Assert.ThrowsAnyAsync<Exception>(() => pool.UpdateNodeAsync(Node(region, 2)));

        var reloadFailure = Assert.Single(fixture.Log.Entries, e =>
            e.Category == typeof(ControlPlane.Grains.Pools.PoolGrain).FullName && e.Level == LogLevel.Error);
        // Orleans wraps what the storage threw.
        Assert.Contains("injected read failure", reloadFailure.Exception?.ToString(), StringComparison.Ordinal);
        // The activation that holds the unwritten node is gone: the next one reads what is stored.
        await Poll.UntilAsync(async () => (await pool.GetTotalsAsync()).GpusTotal, total => total == 8, TimeSpan.FromSeconds(10), "the stored totals");
    }
}
