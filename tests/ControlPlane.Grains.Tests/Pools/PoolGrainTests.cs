using ControlPlane.Contracts;
using ControlPlane.Contracts.Pools;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Pools;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Pools;

/// <summary>The pool grain on real PostgreSQL storage: every node update kept, concurrent ones in few writes.</summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class PoolGrainTests(AdoNetClusterFixture fixture) : IClassFixture<AdoNetClusterFixture>
{
    private IGrainFactory Grains => fixture.Cluster.Client;

    private static string NewRegion() => "region-" + Guid.NewGuid().ToString("N")[..8];

    private static NodeCapacity Node(string region, int i, NodeStatus status = NodeStatus.Ready, long version = 1) =>
        new($"node-{i:D4}", region, status, "h200-141gb", 8, status == NodeStatus.Ready ? 8 : 0, version);

    [Fact]
    public async Task UpdateNodeAsync_ManyNodesAtOnce_KeepsEveryOneInFewWrites()
    {
        var region = NewRegion();
        var pool = Grains.GetGrain<IPoolGrain>(GrainKeys.Pool(region));

        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => pool.UpdateNodeAsync(Node(region, i))));

        var totals = await pool.GetTotalsAsync();
        Assert.Equal(1_600, totals.GpusTotal);
        Assert.Equal(1_600, totals.GpusHealthy);
        Assert.Equal(200, totals.NodesByStatus[NodeStatus.Ready]);

        // Group commit: concurrent updates share writes (one write per update would make the version 200).
        Assert.InRange(await StoredVersionAsync(region), 1, 199);

        // What was answered is stored: a new activation reads all 200 back.
        await fixture.Cluster.DeactivateAsync(pool);
        Assert.Equal(1_600, (await pool.GetTotalsAsync()).GpusTotal);
    }

    [Fact]
    public async Task UpdateNodeAsync_OlderOrSameVersion_ChangesNothing()
    {
        var region = NewRegion();
        var pool = Grains.GetGrain<IPoolGrain>(GrainKeys.Pool(region));
        await pool.UpdateNodeAsync(Node(region, 1, NodeStatus.Down, version: 5));
        var version = await StoredVersionAsync(region);

        await Task.WhenAll(
            pool.UpdateNodeAsync(Node(region, 1, NodeStatus.Ready, version: 4)),
            pool.UpdateNodeAsync(Node(region, 1, NodeStatus.Down, version: 5)));

        var totals = await pool.GetTotalsAsync();
        Assert.Equal(0, totals.GpusHealthy);
        Assert.Equal(1, totals.NodesByStatus[NodeStatus.Down]);
        Assert.Equal(version, await StoredVersionAsync(region));
    }

    [Fact]
    public async Task UpdateNodeAsync_NewerVersionsOfOneNodeTogether_TheNewestWins()
    {
        var region = NewRegion();
        var pool = Grains.GetGrain<IPoolGrain>(GrainKeys.Pool(region));

        // Sent together, they may land in one group in any order: the version decides, not the arrival.
        await Task.WhenAll(Enumerable.Range(1, 20).Reverse().Select(v =>
            pool.UpdateNodeAsync(Node(region, 7, v % 2 == 0 ? NodeStatus.Ready : NodeStatus.Suspect, version: v))));

        var totals = await pool.GetTotalsAsync();
        Assert.Equal(1, totals.NodesByStatus[NodeStatus.Ready]);
        Assert.Equal(8, totals.GpusHealthy);
    }

    private Task<int> StoredVersionAsync(string region) => StoredVersions.ReadAsync(fixture.ConnectionString, "pool", GrainKeys.Pool(region));
}
