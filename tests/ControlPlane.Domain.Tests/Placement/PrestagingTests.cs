using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;
using static ControlPlane.Domain.Tests.Placement.TestFleet;

namespace ControlPlane.Domain.Tests.Placement;

public sealed class PrestagingTests
{
    private const long GiB = 1L << 30;

    [Fact]
    public void Plan_NextReplicasGoToColdNodes_ThoseNodesGetTheModel()
    {
        // One 8-GPU replica runs on "a"; the next two would go to "b" and then "c".
        var snapshot = Snapshot(
            Cached(Node("a"), warm: true).HoldFor("d", "d.0", ReplicaTier.Burst, 0, 1, 2, 3, 4, 5, 6, 7),
            Cached(Node("b")),
            Cached(Node("c")),
            Cached(Node("d-far")));

        var lists = Prestaging.Plan(snapshot, [new PrestageDeployment(Spec("d", gpus: 8, max: 4), 1)], null);

        Assert.Equal(["b", "c"], lists.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["model"], lists["b"]);
        Assert.Equal(["model"], lists["c"]);
    }

    [Fact]
    public void Plan_LeavesTheSnapshotAsItFoundIt()
    {
        var snapshot = Snapshot(Cached(Node("a")), Cached(Node("b")));
        var before = snapshot.Nodes.Select(n => n.Slots).ToArray();

        Prestaging.Plan(snapshot, [new PrestageDeployment(Spec("d", gpus: 4, max: 4), 0)], null);

        Assert.Equal(before, snapshot.Nodes.Select(n => n.Slots).ToArray());
        Assert.Null(snapshot.NodeOf("prestage:d:0"));
    }

    [Fact]
    public void Plan_WarmNodeTakesTheNextReplica_OnlyTheColdOneAfterItIsAsked()
    {
        var snapshot = Snapshot(Cached(Node("a")), Cached(Node("b"), warm: true));

        var lists = Prestaging.Plan(snapshot, [new PrestageDeployment(Spec("d", gpus: 8, max: 2), 0)], null);

        Assert.Equal(["a"], lists.Keys);
    }

    [Fact]
    public void Plan_NodesWithoutACacheOrWithoutRoom_AreLeftOut()
    {
        // "b" holds the model at 30 GiB, so its size is known; "a" has 20 GiB free, "c" no cache at all.
        var snapshot = Snapshot(
            Cached(Node("a"), free: 20 * GiB),
            Cached(Node("b"), warm: true, bytes: 30 * GiB).Fill("x", ReplicaTier.Reserved),
            Node("c"));

        var lists = Prestaging.Plan(snapshot, [new PrestageDeployment(Spec("d", gpus: 8, max: 3), 0)], null);

        Assert.Empty(lists);
    }

    [Fact]
    public void Plan_SharedDeploymentsAndFullDeployments_AreNotPrestaged()
    {
        var snapshot = Snapshot(Cached(Node("a")), Cached(Node("b")));

        var lists = Prestaging.Plan(
            snapshot,
            [new PrestageDeployment(Spec("s", cls: DeploymentClass.Serverless), 0), new PrestageDeployment(Spec("d", max: 2), 2)],
            null);

        Assert.Empty(lists);
    }

    [Fact]
    public void Plan_ReservationLayoutNodes_GetTheModelEvenWhenThePlannerPicksAnother()
    {
        // The layout holds room for "d" on "z"; the planner would pick "a" (id order) for the next replica.
        var snapshot = Snapshot(Cached(Node("a")), Cached(Node("z")));
        var layout = new ReservationLayout([new ReservationEntry("d", "z", 1, 8)]);

        var lists = Prestaging.Plan(snapshot, [new PrestageDeployment(Spec("d", gpus: 8, reserved: 1, max: 1) with { MaxReplicas = 1 }, 1)], layout);

        Assert.Equal(["z"], lists.Keys);
    }

    [Fact]
    public void Plan_TwoModelsForOneNode_OnlyWhatFitsTheRoomIsListed()
    {
        var snapshot = Snapshot(
            Cached(Node("a"), free: 50 * GiB),
            Cached(Node("w1", gpus: 1), warm: true, bytes: 40 * GiB, model: "m1").Fill("x", ReplicaTier.Reserved),
            Cached(Node("w2", gpus: 1), warm: true, bytes: 40 * GiB, model: "m2").Fill("y", ReplicaTier.Reserved));

        var lists = Prestaging.Plan(
            snapshot,
            [new PrestageDeployment(Spec("d1", gpus: 8) with { Model = "m1" }, 0), new PrestageDeployment(Spec("d2", gpus: 8) with { Model = "m2" }, 0)],
            null);

        Assert.Equal(["m1"], lists["a"]);
    }

    private static PlacementNode Cached(PlacementNode node, bool warm = false, long bytes = 10 * GiB, long free = 1_000 * GiB, string model = "model") =>
        node with { WarmModels = warm ? [new WarmModel(model, bytes)] : [], CacheFreeBytes = free };
}
