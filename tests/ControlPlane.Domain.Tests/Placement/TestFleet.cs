using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;

namespace ControlPlane.Domain.Tests.Placement;

/// <summary>Nodes and specs for placement tests, with defaults that tests override only where they matter.</summary>
internal static class TestFleet
{
    public const string H100 = "h100-sxm-80gb";
    public const long H100MiB = 81_559;
    public const string A100 = "a100-40gb";
    public const long A100MiB = 40_960;
    public const string L4 = "l4-24gb";
    public const long L4MiB = 23_034;

    public static PlacementNode Node(
        string id,
        int gpus = 8,
        decimal hourlyCostUsd = 16m,
        Ownership ownership = Ownership.Owned,
        string sku = H100,
        long memoryMiB = H100MiB,
        string region = "eu-west",
        bool schedulable = true) =>
        PlacementNode.Create(id, region, sku, memoryMiB, gpus, hourlyCostUsd, ownership, schedulable);

    /// <summary>The node with <paramref name="replicaId"/> (deployment <c>{replicaId}-d</c>) holding <paramref name="gpus"/>.</summary>
    public static PlacementNode Hold(this PlacementNode node, string replicaId, ReplicaTier tier, params int[] gpus) =>
        node.HoldFor(replicaId + "-d", replicaId, tier, gpus);

    public static PlacementNode HoldFor(this PlacementNode node, string deploymentId, string replicaId, ReplicaTier tier, params int[] gpus)
    {
        var outcome = node.Slots.TryClaim(replicaId, deploymentId, tier, gpus, []);
        Assert.Equal(ClaimStatus.Claimed, outcome.Status);
        return node with { Slots = outcome.Slots };
    }

    /// <summary>The node without <paramref name="replicaId"/>.</summary>
    public static PlacementNode Free(this PlacementNode node, string replicaId) => node with { Slots = node.Slots.Release(replicaId) };

    /// <summary>The node with every free GPU held by one replica each of <paramref name="tier"/>.</summary>
    public static PlacementNode Fill(this PlacementNode node, string prefix, ReplicaTier tier)
    {
        for (var i = 0; i < node.GpuCount; i++)
        {
            if (node.Slots.IsFree(i))
            {
                node = node.Hold($"{prefix}{i}", tier, i);
            }
        }

        return node;
    }

    public static DeploymentSpec Spec(
        string id = "d",
        int gpus = 1,
        DeploymentClass cls = DeploymentClass.Dedicated,
        int reserved = 0,
        int max = 8,
        int minMemoryGiB = 0,
        string[]? skus = null,
        string[]? regions = null) =>
        new(id, "model", cls, cls == DeploymentClass.Dedicated ? "acme" : null, gpus, minMemoryGiB, skus, regions, 0, reserved, Math.Max(max, reserved), 1_000m);

    public static FleetSnapshot Snapshot(params PlacementNode[] nodes) => new(nodes);
}
