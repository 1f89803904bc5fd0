namespace ControlPlane.Domain.Deployments;

/// <summary>
/// A replica's priority for GPUs, lowest first. A claim may preempt only replicas of a strictly lower
/// tier, so the numeric order is the preemption order: batch goes first, then serverless, then a
/// dedicated deployment's burst replicas; reserved replicas are never preempted.
/// </summary>
[GenerateSerializer, Alias("replica-tier")]
public enum ReplicaTier
{
    /// <summary>A batch deployment's replica: a backlog that can wait.</summary>
    Batch = 0,
    /// <summary>A serverless deployment's replica: shared, spilled to partners when it does not fit.</summary>
    Serverless = 1,
    /// <summary>A dedicated replica above the deployment's reservation: best effort.</summary>
    Burst = 2,
    /// <summary>A dedicated replica within the deployment's reservation: guaranteed by admission control.</summary>
    Reserved = 3,
}

public static class ReplicaTiers
{
    /// <summary>Whether a tier is shared work (batch or serverless), as opposed to dedicated.</summary>
    public static bool IsShared(this ReplicaTier tier) => tier is ReplicaTier.Batch or ReplicaTier.Serverless;

    /// <summary>Whether a claim at <paramref name="claim"/> may take GPUs from a replica at <paramref name="holder"/>.</summary>
    public static bool CanPreempt(this ReplicaTier claim, ReplicaTier holder) => holder < claim;
}
