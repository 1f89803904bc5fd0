using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Tests.Placement;

namespace ControlPlane.Domain.Tests.Deployments;

public sealed class DeploymentLimitsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly DeploymentSpec Dedicated = new(
        "acme-chat", "llama-3.1-70b", DeploymentClass.Dedicated, "acme", 4, 80, null, null, 1, 2, 6, 1_000m);

    private static readonly DeploymentSpec Batch = new(
        "batch-8b", "llama-3.1-8b", DeploymentClass.Batch, null, 1, 24, null, null, 0, 0, 20, 100m);

    [Fact]
    public void Check_FieldsLeftOut_KeepTheirValue()
    {
        var (spec, errors) = new DeploymentLimits(null, 8, null).Check(Dedicated);

        Assert.Empty(errors);
        Assert.Equal(Dedicated with { MaxReplicas = 8 }, spec);
    }

    [Theory]
    [InlineData(3, 2, null, "minReplicas")]
    [InlineData(-1, null, null, "minReplicas")]
    [InlineData(null, 0, null, "maxReplicas")]
    [InlineData(null, 10_001, null, "maxReplicas")]
    [InlineData(null, null, -1, "reservedReplicas")]
    [InlineData(null, null, 7, "reservedReplicas")]
    [InlineData(null, 1, null, "reservedReplicas")]
    public void Check_ResultBreaksTheRulesOfANewSpec_NamesTheField(int? min, int? max, int? reserved, string field)
    {
        var (spec, errors) = new DeploymentLimits(min, max, reserved).Check(Dedicated);

        Assert.Null(spec);
        Assert.Contains(field, errors.Keys);
    }

    [Fact]
    public void Check_ReservationOfASharedDeployment_IsRefusedUnlessZero()
    {
        Assert.Contains("reservedReplicas", new DeploymentLimits(null, null, 1).Check(Batch).Errors.Keys);
        Assert.Equal(Batch, new DeploymentLimits(null, null, 0).Check(Batch).Spec);
    }

    [Fact]
    public void Check_NothingNamed_IsAnError()
    {
        var (spec, errors) = new DeploymentLimits(null, null, null).Check(Dedicated);

        Assert.Null(spec);
        Assert.Equal(["body"], errors.Keys);
    }

    [Fact]
    public void NeedsAdmission_OnlyARaisedReservationOrAnotherSpec()
    {
        Assert.False(DeploymentLimits.NeedsAdmission(Dedicated, Dedicated with { MaxReplicas = 3, MinReplicas = 0 }));
        Assert.False(DeploymentLimits.NeedsAdmission(Dedicated, Dedicated with { ReservedReplicas = 1 }));
        Assert.True(DeploymentLimits.NeedsAdmission(Dedicated, Dedicated with { ReservedReplicas = 3 }));
        Assert.True(DeploymentLimits.NeedsAdmission(Dedicated, Dedicated with { GpusPerReplica = 8, ReservedReplicas = 1 }));
    }

    [Fact]
    public void Limit_DesiredAboveTheNewMax_DropsToItAndEndsTheLowerStretch()
    {
        var state = new AutoscaleState(6, T0, 3, QuickRise: 500m);

        var limited = Autoscaler.Limit(state, Dedicated with { MaxReplicas = 2 });

        Assert.Equal(new AutoscaleState(2, null, 0, QuickRise: 500m), limited);
    }

    [Fact]
    public void Limit_DesiredBelowTheNewMin_RisesToIt()
    {
        Assert.Equal(4, Autoscaler.Limit(new AutoscaleState(1, null, 0), Dedicated with { MinReplicas = 4 }).Desired);
    }

    [Fact]
    public void Limit_PendingScaleDownBelowTheNewMin_GoesToTheMinOrIsDropped()
    {
        var state = new AutoscaleState(5, T0, 1);

        Assert.Equal(new AutoscaleState(5, T0, 3), Autoscaler.Limit(state, Dedicated with { MinReplicas = 3 }));
        Assert.Equal(new AutoscaleState(5, null, 0), Autoscaler.Limit(state, Dedicated with { MinReplicas = 5 }));
    }

    [Fact]
    public void Limit_WithinTheLimits_IsTheSameState()
    {
        var state = new AutoscaleState(3, T0, 2);

        Assert.Equal(state, Autoscaler.Limit(state, Dedicated));
        Assert.Equal(Autoscaler.Limit(state, Dedicated with { MaxReplicas = 2 }), Autoscaler.Limit(Autoscaler.Limit(state, Dedicated with { MaxReplicas = 2 }), Dedicated with { MaxReplicas = 2 }));
    }

    [Fact]
    public void Settle_ReservationRaised_ReplacesTheBurstReplicasAtTheirNewTierMakeBeforeBreak()
    {
        var scheduler = new CapacityScheduler(new Random(1));
        for (var i = 0; i < 2; i++)
        {
            scheduler.SetNode(TestFleet.Node($"n{i}", 8), NodeHealth.Ready, NodeScheduling.Schedulable, [], 1);
        }

        var spec = TestFleet.Spec("ded", gpus: 2, reserved: 1, max: 4);
        scheduler.SetDeployment(new ScheduledDeployment(spec, 3, 1));
        scheduler.Settle();
        MarkReady(scheduler);
        Assert.Equal([ReplicaTier.Reserved, ReplicaTier.Burst, ReplicaTier.Burst], scheduler.ReplicasOf("ded").Select(r => r.Replica.Tier));

        scheduler.SetDeployment(new ScheduledDeployment(spec with { ReservedReplicas = 3 }, 3, 1));
        scheduler.Settle();

        // Both burst replicas are to be replaced, one at a time: ordinal 1's successor is placed beside it, and the old
        // ones serve until their successors are ready. The reserved one stays.
        var replicas = scheduler.ReplicasOf("ded");
        Assert.Equal(4, replicas.Count);
        Assert.Equal([1, 2], replicas.Where(r => r.Moving).Select(r => r.Replica.Ordinal));
        Assert.Equal((1, ReplicaTier.Reserved), replicas.Where(r => r.Replica.State == ReplicaState.Starting).Select(r => (r.Replica.Ordinal, r.Replica.Tier)).Single());
        for (var pass = 0; pass < 4; pass++)
        {
            MarkReady(scheduler);
            scheduler.Settle();
        }

        Assert.Equal([ReplicaTier.Reserved, ReplicaTier.Reserved, ReplicaTier.Reserved], scheduler.ReplicasOf("ded").Select(r => r.Replica.Tier));
        Assert.All(scheduler.ReplicasOf("ded"), r => Assert.False(r.Moving));
    }

    [Fact]
    public void Settle_MaxLowered_ReleasesTheReplicasAboveItAndKeepsTheRest()
    {
        var scheduler = new CapacityScheduler(new Random(1));
        scheduler.SetNode(TestFleet.Node("n0", 8), NodeHealth.Ready, NodeScheduling.Schedulable, [], 1);
        var spec = TestFleet.Spec("ded", gpus: 2, reserved: 1, max: 4);
        scheduler.SetDeployment(new ScheduledDeployment(spec, 4, 1));
        scheduler.Settle();
        MarkReady(scheduler);
        var kept = scheduler.ReplicasOf("ded").Take(2).Select(r => r.Replica.ReplicaId).ToArray();

        scheduler.SetDeployment(new ScheduledDeployment(spec with { MaxReplicas = 2 }, 2, 1));
        scheduler.Settle();

        Assert.Equal(kept, scheduler.ReplicasOf("ded").Select(r => r.Replica.ReplicaId));
    }

    private static void MarkReady(CapacityScheduler scheduler)
    {
        foreach (var r in scheduler.Replicas().ToArray())
        {
            scheduler.SetReplicaState(r.Replica.ReplicaId, ReplicaState.Ready);
        }
    }
}
