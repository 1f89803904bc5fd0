using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Domain.Fleet;
using ControlPlane.Grains.Tests.Deployments;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Fleet;

/// <summary>
/// Engines asleep on a node, over the real PostgreSQL storage: the node grain stores what its agent reports, tells the
/// scheduler (its placement report carries them), writes only a change, believes no write that failed, and forgets
/// them when the node goes down.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class NodeGrainSleepingTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(20);

    private static readonly SleepingEngine Sleeper = new("acme-chat", "acme/llama-70b", [2, 3], 140_000_000_000);

    private IGrainFactory Grains => fixture.Cluster.Client;

    private ISchedulerGrain Scheduler => Grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler);

    [Fact]
    public async Task HeartbeatAsync_SleepingEngines_AreStoredShownAndToldToTheScheduler()
    {
        var (nodeId, region) = (TestFleet.NewId("n"), TestFleet.NewId("r"));
        var (node, token) = await TestFleet.ReadyNodeAsync(Grains, nodeId, region);

        await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, token, 2) with { Sleeping = [Sleeper] });

        Assert.Equal([Sleeper], (await node.GetAsync())!.Sleeping!);
        Assert.Equal([Sleeper], (await node.GetPlacementAsync())!.Node.Sleeping!);
        await Poll.UntilAsync(() => SleepingInAsync(region), n => n == 1, Settle, "the scheduler to hear of the sleeping engine");
        await fixture.Cluster.DeactivateAsync(node);
        Assert.Equal([Sleeper], (await node.GetAsync())!.Sleeping!);
    }

    [Fact]
    public async Task HeartbeatAsync_SleepBudget_IsStoredShownInThePlacementReportAndAChangeIsWritten()
    {
        var nodeId = TestFleet.NewId("n");
        var (node, token) = await TestFleet.ReadyNodeAsync(Grains, nodeId, TestFleet.NewId("r"));

        await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, token, 2) with { SleepBudgetBytes = 512L << 30 });
        var version = await StoredVersionAsync(nodeId);
        Assert.Equal(512L << 30, (await node.GetAsync())!.SleepBudgetBytes);
        Assert.Equal(512L << 30, (await node.GetPlacementAsync())!.Node.SleepBudgetBytes);

        await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, token, 3) with { SleepBudgetBytes = 512L << 30 });
        Assert.Equal(version, await StoredVersionAsync(nodeId));

        // An agent restarted without a budget puts nothing to sleep any more: the scheduler must not count on it.
        await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, token, 4));
        await fixture.Cluster.DeactivateAsync(node);
        Assert.Null((await node.GetPlacementAsync())!.Node.SleepBudgetBytes);
        Assert.Equal(version + 1, await StoredVersionAsync(nodeId));
    }

    [Fact]
    public async Task HeartbeatAsync_SameSleepersAgain_WritesNothing_AndNoneLeftForgetsThem()
    {
        var nodeId = TestFleet.NewId("n");
        var (node, token) = await TestFleet.ReadyNodeAsync(Grains, nodeId, TestFleet.NewId("r"));
        var other = new SleepingEngine("other", "acme/llama-8b", [0], 16_000_000_000);
        await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, token, 2) with { Sleeping = [Sleeper, other] });
        var version = await StoredVersionAsync(nodeId);

        await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, token, 3) with { Sleeping = [other, Sleeper] });
        Assert.Equal(version, await StoredVersionAsync(nodeId));

        await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, token, 4));
        Assert.Empty((await node.GetAsync())!.Sleeping!);
        Assert.Equal(version + 1, await StoredVersionAsync(nodeId));
    }

    [Fact]
    public async Task HeartbeatAsync_WriteFails_TheSleepersAreNotBelievedAndTheNextReportStoresThem()
    {
        var nodeId = TestFleet.NewId("n");
        var (node, token) = await TestFleet.ReadyNodeAsync(Grains, nodeId, TestFleet.NewId("r"));
        fixture.Faults.FailWrites(node);

        await Assert.ThrowsAnyAsync<Exception>(() => node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, token, 2) with { Sleeping = [Sleeper] }));
        Assert.Empty((await node.GetPlacementAsync())!.Node.Sleeping ?? []);

        await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, token, 3) with { Sleeping = [Sleeper] });
        await fixture.Cluster.DeactivateAsync(node);
        Assert.Equal([Sleeper], (await node.GetPlacementAsync())!.Node.Sleeping!);
    }

    [Fact]
    public async Task CheckSilenceAsync_NodeGoesDown_ItsSleepersAreForgotten()
    {
        var (nodeId, region) = (TestFleet.NewId("n"), TestFleet.NewId("r"));
        var (node, token) = await TestFleet.ReadyNodeAsync(Grains, nodeId, region);
        await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, token, 2) with { Sleeping = [Sleeper] });

        // A new activation has not heard the agent itself: the cluster's record of a long silence takes it down.
        await fixture.Cluster.DeactivateAsync(node);
        await node.CheckSilenceAsync(TimeSpan.FromHours(1), grainLost: false);

        var view = (await node.GetAsync())!;
        Assert.Equal(NodeStatus.Down, view.Status);
        Assert.Empty(view.Sleeping!);
        Assert.Empty((await node.GetPlacementAsync())!.Node.Sleeping!);
        await Poll.UntilAsync(() => SleepingInAsync(region), n => n == 0, Settle, "the scheduler to hear that the sleepers are gone");
    }

    private async Task<int?> SleepingInAsync(string region) =>
        (await Scheduler.GetSummaryAsync()).Sleeping?.SingleOrDefault(s => s.Region == region)?.Engines;

    private Task<int> StoredVersionAsync(string nodeId) => StoredVersions.ReadAsync(fixture.ConnectionString, "node", GrainKeys.Node(nodeId));
}
