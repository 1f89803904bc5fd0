using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Placement;
using static ControlPlane.Domain.Tests.Placement.TestFleet;

namespace ControlPlane.Domain.Tests.Placement;

public sealed class NodeSlotsTests
{
    [Fact]
    public void TryClaim_FreeGpus_GivesThemToTheReplica()
    {
        var outcome = NodeSlots.Empty(4).TryClaim("r1", "d", ReplicaTier.Serverless, [1, 2], []);

        Assert.Equal(ClaimStatus.Claimed, outcome.Status);
        Assert.Equal([1, 2], outcome.Slots.GpusOf("r1"));
        Assert.Equal(2, outcome.Slots.FreeCount);
        Assert.Empty(outcome.Preempted);
    }

    [Fact]
    public void TryClaim_LowerTierVictim_IsPreemptedAndFreesAllItsGpus()
    {
        var slots = Node("n", 4).Hold("batch", ReplicaTier.Batch, 0, 1, 2).Slots;

        var outcome = slots.TryClaim("burst", "d", ReplicaTier.Burst, [2, 3], ["batch"]);

        Assert.Equal(ClaimStatus.Claimed, outcome.Status);
        Assert.Equal("batch", Assert.Single(outcome.Preempted).ReplicaId);
        Assert.Equal([2, 3], outcome.Slots.GpusOf("burst"));
        Assert.Empty(outcome.Slots.GpusOf("batch"));
        Assert.True(outcome.Slots.IsFree(0) && outcome.Slots.IsFree(1));
    }

    [Theory]
    [InlineData(ReplicaTier.Serverless, ReplicaTier.Serverless)]
    [InlineData(ReplicaTier.Burst, ReplicaTier.Reserved)]
    [InlineData(ReplicaTier.Reserved, ReplicaTier.Reserved)]
    [InlineData(ReplicaTier.Batch, ReplicaTier.Batch)]
    public void TryClaim_GpuHeldByEqualOrHigherTier_IsRefusedEvenAsAVictim(ReplicaTier claim, ReplicaTier holder)
    {
        var slots = Node("n", 2).Hold("other", holder, 0).Slots;

        var outcome = slots.TryClaim("r", "d", claim, [0, 1], ["other"]);

        Assert.Equal(ClaimStatus.OutrankedByHolder, outcome.Status);
        Assert.Same(slots, outcome.Slots);
    }

    [Fact]
    public void TryClaim_LowerTierHolderNotNamedAsVictim_IsRefused()
    {
        // Two schedulers planned from the same view: the second one's claim names the victim it saw, not
        // the replica the first one placed meanwhile.
        var slots = Node("n", 2).Hold("first", ReplicaTier.Batch, 0).Slots;

        Assert.Equal(ClaimStatus.NotAVictim, slots.TryClaim("second", "d", ReplicaTier.Reserved, [0], ["someone-else"]).Status);
    }

    [Fact]
    public void TryClaim_Retried_IsIdempotentAndADifferentSetIsRefused()
    {
        var first = NodeSlots.Empty(4).TryClaim("r", "d", ReplicaTier.Burst, [2, 0], []);

        var retry = first.Slots.TryClaim("r", "d", ReplicaTier.Burst, [0, 2], []);
        var other = first.Slots.TryClaim("r", "d", ReplicaTier.Burst, [1], []);

        Assert.Equal(ClaimStatus.AlreadyClaimed, retry.Status);
        Assert.Same(first.Slots, retry.Slots);
        Assert.Equal(ClaimStatus.ReplicaHoldsOtherGpus, other.Status);
    }

    [Theory]
    [InlineData(new int[0])]
    [InlineData(new[] { -1 })]
    [InlineData(new[] { 4 })]
    [InlineData(new[] { 1, 1 })]
    public void TryClaim_BadIndices_AreRefused(int[] gpus)
    {
        Assert.Equal(ClaimStatus.InvalidGpus, NodeSlots.Empty(4).TryClaim("r", "d", ReplicaTier.Burst, gpus, []).Status);
    }

    [Fact]
    public void Release_Replica_FreesOnlyItsGpus()
    {
        var slots = Node("n", 4).Hold("a", ReplicaTier.Batch, 0, 1).Hold("b", ReplicaTier.Batch, 2).Slots;

        var released = slots.Release("a");

        Assert.Equal(3, released.FreeCount);
        Assert.Equal([2], released.GpusOf("b"));
        Assert.Same(released, released.Release("a"));
        Assert.Equal(["b"], released.Replicas().Select(r => r.ReplicaId));
    }

    [Fact]
    public void Equals_SameHoldersInOtherArrays_AreEqual()
    {
        var a = Node("n", 2).Hold("r", ReplicaTier.Batch, 1).Slots;
        var b = Node("n", 2).Hold("r", ReplicaTier.Batch, 1).Slots;

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, NodeSlots.Empty(2));
    }
}
