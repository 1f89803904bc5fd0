using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Placement;
using static ControlPlane.Domain.Tests.Placement.TestFleet;

namespace ControlPlane.Domain.Tests.Placement;

public sealed class AdmissionTests
{
    [Fact]
    public void CanReserve_FleetFullOfSharedWork_CountsItAsPreemptible()
    {
        var snapshot = Snapshot(Node("a").Fill("b", ReplicaTier.Batch), Node("b").Fill("s", ReplicaTier.Serverless));

        Assert.True(Admission.CanReserve(snapshot, [], Spec("new", gpus: 8, reserved: 2)));
        Assert.False(Admission.CanReserve(snapshot, [], Spec("new", gpus: 8, reserved: 3)));
    }

    [Fact]
    public void CanReserve_OtherCustomersReservations_AreCounted()
    {
        var snapshot = Snapshot(Node("a"), Node("b"));
        var other = Spec("other", gpus: 8, reserved: 1) with { CustomerId = "globex" };

        Assert.True(Admission.CanReserve(snapshot, [other], Spec("new", gpus: 8, reserved: 1)));
        Assert.False(Admission.CanReserve(snapshot, [other], Spec("new", gpus: 8, reserved: 2)));
        Assert.False(Admission.CanReserve(snapshot, [other], Spec("new", gpus: 1, reserved: 9)));
    }

    [Fact]
    public void CanReserve_SameIdAsAnExistingSpec_ReplacesIt()
    {
        var snapshot = Snapshot(Node("a"), Node("b"));
        var existing = Spec("acme", gpus: 8, reserved: 2);

        Assert.True(Admission.CanReserve(snapshot, [existing], existing with { ReservedReplicas = 1 }));
        Assert.True(Admission.CanReserve(snapshot, [existing], existing));
    }

    [Fact]
    public void CanReserve_NoReservedReplicas_IsAlwaysAccepted()
    {
        Assert.True(Admission.CanReserve(Snapshot(), [], Spec(reserved: 0, max: 50)));
        Assert.True(Admission.CanReserve(Snapshot(), [], Spec(cls: DeploymentClass.Serverless)));
    }

    [Fact]
    public void CanReserve_OnlyCompatibleSchedulableGpusCount()
    {
        var snapshot = Snapshot(
            Node("h100"),
            Node("a100", sku: A100, memoryMiB: A100MiB),
            Node("h100-cordoned", schedulable: false),
            Node("h100-us", region: "us-east"));

        Assert.True(Admission.CanReserve(snapshot, [], Spec(gpus: 8, reserved: 1, skus: [H100], regions: ["eu-west"])));
        Assert.False(Admission.CanReserve(snapshot, [], Spec(gpus: 8, reserved: 2, skus: [H100], regions: ["eu-west"])));
        Assert.False(Admission.CanReserve(snapshot, [], Spec(gpus: 8, reserved: 3, minMemoryGiB: 80)));
        Assert.True(Admission.CanReserve(snapshot, [], Spec(gpus: 8, reserved: 3)));
    }

    [Fact]
    public void CanReserve_ReservedReplicasAlreadyPlaced_KeepTheirGpus()
    {
        // acme's placed reserved replica sits in the middle of "a": a second 8-GPU reservation has only "b".
        var snapshot = Snapshot(Node("a").HoldFor("acme", "acme-0", ReplicaTier.Reserved, 2, 3, 4, 5), Node("b"));
        var acme = Spec("acme", gpus: 4, reserved: 1);

        Assert.True(Admission.CanReserve(snapshot, [acme], Spec("new", gpus: 4, reserved: 3)));
        Assert.False(Admission.CanReserve(snapshot, [acme], Spec("new", gpus: 8, reserved: 2)));
    }

    [Fact]
    public void Reserve_LargestReplicasFirst_OnTheTightestNode()
    {
        var snapshot = Snapshot(Node("a", gpus: 8), Node("b", gpus: 4));

        var layout = Admission.Reserve(snapshot, [Spec("small", gpus: 2, reserved: 2), Spec("large", gpus: 8, reserved: 1)]);

        Assert.Equal(
            new ReservationLayout([new("large", "a", 1, 8), new("small", "b", 2, 2)]),
            layout);
    }

    [Fact]
    public void Plan_ReservedWithLayout_StaysObtainableWhateverArrivesFirst()
    {
        // Admission fits acme (2 x 4 GPUs) and globex (1 x 8 GPUs) on two nodes. Without the layout, acme's
        // first replica takes the four free GPUs of "a" (the tightest fit) and its second half of "b",
        // leaving globex's reserved replica no node even by preempting all shared work.
        var snapshot = Snapshot(Node("a").Hold("batch", ReplicaTier.Batch, 0, 1, 2, 3), Node("b"));
        var acme = Spec("acme", gpus: 4, reserved: 2);
        var globex = Spec("globex", gpus: 8, reserved: 1) with { CustomerId = "globex" };
        Assert.True(Admission.CanReserve(snapshot, [acme], globex));
        var layout = Admission.Reserve(snapshot, [acme, globex])!;

        var unguided = new FleetSnapshot(snapshot.Nodes);
        Place(unguided, acme, "acme-0", null);
        Place(unguided, acme, "acme-1", null);
        Assert.Null(PlacementPlanner.Plan(unguided, globex, ReplicaTier.Reserved));

        Place(snapshot, acme, "acme-0", layout);
        Place(snapshot, acme, "acme-1", layout);
        var claim = Place(snapshot, globex, "globex-0", layout);
        Assert.Equal(new GpuClaim("a", [0, 1, 2, 3, 4, 5, 6, 7], ["batch"]), claim);
    }

    [Fact]
    public void Admits_NodeWithRoomPromisedToOthers_RefusesReplicasOffTheLayout()
    {
        var layout = new ReservationLayout([new("globex", "a", 1, 8), new("acme", "b", 1, 4)]);
        var a = Node("a");
        var b = Node("b").HoldFor("acme", "acme-0", ReplicaTier.Reserved, 0, 1, 2, 3);

        Assert.False(layout.Admits(a, "acme", 4));
        Assert.True(layout.Admits(a, "globex", 8));
        Assert.True(layout.Admits(b, "other", 4));
        Assert.False(layout.Admits(b, "other", 5));
        Assert.True(layout.Admits(Node("c"), "acme", 8));
        Assert.Equal(1, layout.ReplicasOf("acme"));
    }

    private static GpuClaim Place(FleetSnapshot snapshot, DeploymentSpec spec, string replicaId, ReservationLayout? layout)
    {
        var claim = PlacementPlanner.Plan(snapshot, spec, ReplicaTier.Reserved, layout);
        Assert.NotNull(claim);
        Assert.Equal(ClaimStatus.Claimed, snapshot.Apply(new GpuHolder(replicaId, spec.DeploymentId, ReplicaTier.Reserved), claim).Status);
        return claim;
    }
}
