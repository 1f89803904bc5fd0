namespace ControlPlane.Domain.Deployments;

/// <summary>What a node agent says about a replica it runs.</summary>
[GenerateSerializer, Alias("replica-state")]
public enum ReplicaState
{
    /// <summary>Placed; the agent is loading the model (or has not heard of it yet).</summary>
    Starting = 0,
    /// <summary>Serving: the gateway may route to it.</summary>
    Ready = 1,
    /// <summary>The agent's runtime could not start it, or it stopped on its own.</summary>
    Failed = 2,
}

/// <summary>
/// A replica holding GPUs on a node, as the node grain stores it beside its slot map.
/// </summary>
/// <param name="Ordinal">
/// Which of the deployment's replicas this is (0-based): it decides the tier (ordinals below the reservation are
/// reserved) and which replicas go first on a scale-down (the highest). A replacement takes the ordinal of the
/// replica it replaces.
/// </param>
/// <param name="Generation">The deployment spec generation it was placed for; a migration starts a new one.</param>
/// <param name="GpuIndices">The node's GPUs it holds, ascending.</param>
/// <param name="Image">The engine image of the deployment spec it was placed for (<see cref="DeploymentSpec.Image"/>); null for none.</param>
[GenerateSerializer, Alias("placed-replica")]
public sealed record PlacedReplica(
    [property: Id(0)] string ReplicaId,
    [property: Id(1)] string DeploymentId,
    [property: Id(2)] string Model,
    [property: Id(3)] int Ordinal,
    [property: Id(4)] int Generation,
    [property: Id(5)] ReplicaTier Tier,
    [property: Id(6)] int[] GpuIndices,
    [property: Id(7)] ReplicaState State,
    [property: Id(8)] string? Image = null)
{
    public bool Equals(PlacedReplica? other) =>
        other is not null
        && ReplicaId == other.ReplicaId
        && DeploymentId == other.DeploymentId
        && Model == other.Model
        && Ordinal == other.Ordinal
        && Generation == other.Generation
        && Tier == other.Tier
        && ValueArrays.Equal(GpuIndices, other.GpuIndices)
        && State == other.State
        && Image == other.Image;

    public override int GetHashCode() => HashCode.Combine(ReplicaId, Ordinal, Generation, State);

    /// <summary>A fresh replica id: the deployment, the ordinal, and a random part so a re-placed replica is never confused with the one it replaces.</summary>
    public static string NewId(string deploymentId, int ordinal, Random? random = null)
    {
        Span<byte> bytes = stackalloc byte[4];
        (random ?? Random.Shared).NextBytes(bytes);
        return $"{deploymentId}.{ordinal}.{Convert.ToHexStringLower(bytes)}";
    }
}

/// <summary>
/// A deployment as the scheduler keeps it: the spec it places, how many replicas it wants, and the spec generation
/// (a migration changes the spec and starts a new generation; replicas of older generations are replaced).
/// </summary>
/// <param name="Awake">
/// Of <paramref name="Desired"/>, how many must run now (<see cref="Autoscaler.Awake"/>); null when all must. The others
/// are headroom, which may be held by the deployment's engines asleep on nodes (<see cref="Fleet.SleepingEngine"/>)
/// instead of running replicas: their GPUs do shared work until a rise wakes them.
/// </param>
[GenerateSerializer, Alias("scheduled-deployment")]
public sealed record ScheduledDeployment(
    [property: Id(0)] DeploymentSpec Spec,
    [property: Id(1)] int Desired,
    [property: Id(2)] int Generation,
    [property: Id(3)] int? Awake = null);
