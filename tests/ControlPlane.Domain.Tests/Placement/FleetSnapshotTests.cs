using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Placement;
using static ControlPlane.Domain.Tests.Placement.TestFleet;

namespace ControlPlane.Domain.Tests.Placement;

public sealed class FleetSnapshotTests
{
    [Fact]
    public void Apply_ThenRelease_FollowsTheNode()
    {
        var snapshot = Snapshot(Node("a", gpus: 4), Node("b", gpus: 2));
        var holder = new GpuHolder("r", "d", ReplicaTier.Burst);

        var outcome = snapshot.Apply(holder, new GpuClaim("a", [1, 2], []));

        Assert.Equal(ClaimStatus.Claimed, outcome.Status);
        Assert.Equal(outcome.Slots, snapshot.Find("a")!.Slots);
        Assert.Equal("a", snapshot.NodeOf("r"));
        Assert.Equal(new GpuClaim("a", [0, 3], []), PlacementPlanner.Plan(snapshot, Spec(gpus: 2), ReplicaTier.Burst));

        Assert.True(snapshot.Release("r"));
        Assert.False(snapshot.Release("r"));
        Assert.Null(snapshot.NodeOf("r"));
        Assert.Equal(4, snapshot.Find("a")!.Slots.FreeCount);
    }

    [Fact]
    public void Apply_ReplicaOnAnotherNodeOrUnknownNode_IsRefused()
    {
        var snapshot = Snapshot(Node("a", gpus: 2), Node("b", gpus: 2));
        var holder = new GpuHolder("r", "d", ReplicaTier.Burst);
        snapshot.Apply(holder, new GpuClaim("a", [0], []));

        Assert.Equal(ClaimStatus.ReplicaHoldsOtherGpus, snapshot.Apply(holder, new GpuClaim("b", [0], [])).Status);
        Assert.Equal(ClaimStatus.UnknownNode, snapshot.Apply(holder, new GpuClaim("c", [0], [])).Status);
        Assert.Equal(2, snapshot.Find("b")!.Slots.FreeCount);
    }

    [Fact]
    public void MarkDown_Node_ReturnsItsReplicasAndTakesNoNewWork()
    {
        var snapshot = Snapshot(Node("a", gpus: 4).Hold("x", ReplicaTier.Batch, 0).Hold("y", ReplicaTier.Reserved, 1, 2));

        var lost = snapshot.MarkDown("a");

        Assert.Equal(["x", "y"], lost.Select(h => h.ReplicaId));
        Assert.Null(snapshot.NodeOf("y"));
        Assert.False(snapshot.Find("a")!.Schedulable);
        Assert.Null(PlacementPlanner.Plan(snapshot, Spec(), ReplicaTier.Reserved));
        Assert.Empty(snapshot.MarkDown("missing"));
    }

    [Fact]
    public void Upsert_And_Remove_KeepCountsAndIndex()
    {
        var snapshot = Snapshot(Node("a", gpus: 4), Node("b", gpus: 8, schedulable: false));
        Assert.Equal(12, snapshot.GpuCount);
        Assert.Equal(["a", "b"], snapshot.Nodes.Select(n => n.NodeId));

        snapshot.Upsert(Node("b", gpus: 8));
        Assert.Equal("b", PlacementPlanner.Plan(snapshot, Spec(gpus: 8), ReplicaTier.Batch)?.NodeId);

        Assert.True(snapshot.Remove("b"));
        Assert.False(snapshot.Remove("b"));
        Assert.Equal(4, snapshot.GpuCount);
        Assert.Null(PlacementPlanner.Plan(snapshot, Spec(gpus: 8), ReplicaTier.Batch));
    }

    [Fact]
    public void Upsert_SameReplicaReportedByTwoNodes_LaterReportWins()
    {
        var snapshot = Snapshot(Node("a", gpus: 2).Hold("r", ReplicaTier.Burst, 0));

        snapshot.Upsert(Node("b", gpus: 2).Hold("r", ReplicaTier.Burst, 1));
        Assert.Equal("b", snapshot.NodeOf("r"));

        snapshot.Upsert(Node("a", gpus: 2));
        Assert.Equal("b", snapshot.NodeOf("r"));
    }
}
