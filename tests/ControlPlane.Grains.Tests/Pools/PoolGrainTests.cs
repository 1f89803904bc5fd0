using ControlPlane.Contracts;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Contracts.Pools;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Pools;
using ControlPlane.Grains.Tests.Deployments;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Pools;

/// <summary>
/// The pool grain: an index held in memory, fed by node updates (the newest version wins) and rebuilt from the region's
/// node grains by each activation, on a cluster with real PostgreSQL storage.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class PoolGrainTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    private IGrainFactory Grains => fixture.Cluster.Client;

    private static string NewRegion() => "region-" + Guid.NewGuid().ToString("N")[..8];

    private static NodeCapacity Node(string region, int i, NodeStatus status = NodeStatus.Ready, long version = 1) =>
        new($"node-{i:D4}", region, status, "h200-141gb", 8, status == NodeStatus.Ready ? 8 : 0, version);

    [Fact]
    public async Task UpdateNodeAsync_ManyNodesAtOnce_KeepsEveryOneAndWritesNothing()
    {
        var region = NewRegion();
        var pool = Grains.GetGrain<IPoolGrain>(GrainKeys.Pool(region));

        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => pool.UpdateNodeAsync(Node(region, i))));

        var totals = await pool.GetTotalsAsync();
        Assert.Equal(1_600, totals.GpusTotal);
        Assert.Equal(1_600, totals.GpusHealthy);
        Assert.Equal(200, totals.NodesByStatus[NodeStatus.Ready]);

        // Nothing stored: every node grain stores its own capacity.
        Assert.Equal(0, await StoredVersions.ReadAsync(fixture.ConnectionString, "pool", GrainKeys.Pool(region)));
    }

    [Fact]
    public async Task UpdateNodeAsync_OlderOrSameVersion_ChangesNothing()
    {
        var region = NewRegion();
        var pool = Grains.GetGrain<IPoolGrain>(GrainKeys.Pool(region));
        await pool.UpdateNodeAsync(Node(region, 1, NodeStatus.Down, version: 5));

        await Task.WhenAll(
            pool.UpdateNodeAsync(Node(region, 1, NodeStatus.Ready, version: 4)),
            pool.UpdateNodeAsync(Node(region, 1, NodeStatus.Down, version: 5)));

        var totals = await pool.GetTotalsAsync();
        Assert.Equal(0, totals.GpusHealthy);
        Assert.Equal(1, totals.NodesByStatus[NodeStatus.Down]);
    }

    [Fact]
    public async Task UpdateNodeAsync_NewerVersionsOfOneNodeTogether_TheNewestWins()
    {
        var region = NewRegion();
        var pool = Grains.GetGrain<IPoolGrain>(GrainKeys.Pool(region));

        await Task.WhenAll(Enumerable.Range(1, 20).Reverse().Select(v =>
            pool.UpdateNodeAsync(Node(region, 7, v % 2 == 0 ? NodeStatus.Ready : NodeStatus.Suspect, version: v))));

        var totals = await pool.GetTotalsAsync();
        Assert.Equal(1, totals.NodesByStatus[NodeStatus.Ready]);
        Assert.Equal(8, totals.GpusHealthy);
    }

    [Fact]
    public async Task GetTotalsAsync_NewActivation_RebuildsFromTheRegionsNodeGrains()
    {
        var region = NewRegion();
        var ids = Enumerable.Range(0, 5).Select(i => $"{region}-n{i}").ToArray();
        foreach (var id in ids)
        {
            await TestFleet.ReadyNodeAsync(Grains, id, region);
        }

        var pool = Grains.GetGrain<IPoolGrain>(GrainKeys.Pool(region));
        var told = await pool.GetTotalsAsync();
        Assert.Equal(5, told.NodesByStatus[NodeStatus.Ready]);

        // One node is cordoned; then the pool's activation goes. The next one holds nothing but what it asks the nodes.
        await Grains.GetGrain<INodeGrain>(GrainKeys.Node(ids[0])).SetSchedulingAsync(NodeScheduling.Cordoned);
        await fixture.Cluster.DeactivateAsync(pool);

        var rebuilt = await pool.GetTotalsAsync();
        Assert.Equal(told.GpusTotal, rebuilt.GpusTotal);
        Assert.Equal(4, rebuilt.NodesByStatus[NodeStatus.Ready]);
        Assert.Equal(1, rebuilt.NodesByStatus[NodeStatus.Cordoned]);
    }
}
