using ControlPlane.Contracts;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;
using ControlPlane.Grains.Tests.Deployments;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Fleet;

/// <summary>The node grain when its storage fails: an enrollment or a claim that was not written is not believed.</summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class NodeGrainWriteTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    private IGrainFactory Grains => fixture.Cluster.Client;

    [Fact]
    public async Task EnrollAsync_RetryAfterAFailedWrite_StoresTheTokenItAnswers()
    {
        var nodeId = TestFleet.NewId("n");
        var node = Grains.GetGrain<INodeGrain>(GrainKeys.Node(nodeId));
        var enrollment = new NodeEnrollment(nodeId, TestFleet.NewId("r"), "own-dc", Ownership.Owned, 20m, "key-1");
        fixture.Faults.FailWrites(node);

        await Assert.ThrowsAnyAsync<Exception>(() => node.EnrollAsync(enrollment));
        Assert.Null(await node.GetAsync());
        var enrolled = await node.EnrollAsync(enrollment);
        Assert.Equal(EnrollmentStatus.Enrolled, enrolled.Status);

        // The token answered is the one stored: a new activation takes its heartbeats.
        await fixture.Cluster.DeactivateAsync(node);
        Assert.Equal(HeartbeatResult.Accepted, (await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, enrolled.TokenId!, 1))).Result);
    }

    [Fact]
    public async Task EnrollAsync_TheDirectorysWriteFails_NeitherListedNorEnrolledUntilTheRetry()
    {
        var nodeId = TestFleet.NewId("n");
        var region = TestFleet.NewId("r");
        var node = Grains.GetGrain<INodeGrain>(GrainKeys.Node(nodeId));
        var directory = Grains.GetGrain<IFleetDirectoryGrain>(GrainKeys.FleetDirectory);
        var enrollment = new NodeEnrollment(nodeId, region, "own-dc", Ownership.Owned, 20m, "key-1");
        await directory.ListRegionsAsync();
        fixture.Faults.FailWrites(directory);

        // The directory's group commit failed: the directory reads back what it stored, and the node stores nothing.
        await Assert.ThrowsAnyAsync<Exception>(() => node.EnrollAsync(enrollment));
        Assert.Empty(await directory.ListNodesAsync(region));
        Assert.Null(await node.GetAsync());
        Assert.Equal(EnrollmentStatus.Enrolled, (await node.EnrollAsync(enrollment)).Status);

        await fixture.Cluster.DeactivateAsync(directory);
        Assert.Equal([nodeId], await directory.ListNodesAsync(region));
    }

    [Fact]
    public async Task ClaimAsync_WriteFails_TheNodeNeitherHoldsNorRunsTheReplica()
    {
        var nodeId = TestFleet.NewId("n");
        var (node, token) = await TestFleet.ReadyNodeAsync(Grains, nodeId, TestFleet.NewId("r"));
        var replica = new PlacedReplica("d.0.cafe", "d", "llama-70b", 0, 1, ReplicaTier.Batch, [0, 1], ReplicaState.Starting);
        fixture.Faults.FailWrites(node);

        await Assert.ThrowsAnyAsync<Exception>(() => node.ClaimAsync(replica, []));

        Assert.Empty((await node.GetPlacementAsync())!.Replicas);
        Assert.Empty((await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, token, 2))).Desired!);
        Assert.Equal(ClaimStatus.Claimed, (await node.ClaimAsync(replica, [])).Status);
        await fixture.Cluster.DeactivateAsync(node);
        Assert.Equal(replica.ReplicaId, Assert.Single((await node.GetPlacementAsync())!.Replicas).ReplicaId);
    }

    [Fact]
    public async Task SetSchedulingAsync_RetryAfterAFailedWrite_IsWritten()
    {
        var nodeId = TestFleet.NewId("n");
        var (node, _) = await TestFleet.ReadyNodeAsync(Grains, nodeId, TestFleet.NewId("r"));
        fixture.Faults.FailWrites(node);

        await Assert.ThrowsAnyAsync<Exception>(() => node.SetSchedulingAsync(NodeScheduling.Cordoned));
        Assert.Equal(NodeScheduling.Schedulable, (await node.GetAsync())!.Scheduling);
        await node.SetSchedulingAsync(NodeScheduling.Cordoned);

        await fixture.Cluster.DeactivateAsync(node);
        Assert.Equal(NodeScheduling.Cordoned, (await node.GetAsync())!.Scheduling);
    }
}
