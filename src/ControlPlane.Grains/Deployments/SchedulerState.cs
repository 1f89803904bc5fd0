using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;

namespace ControlPlane.Grains.Deployments;

/// <summary>
/// What the scheduler stores: the deployments it places (spec, generation, desired replicas). Where replicas are is
/// stored by the node grains (the authority on their GPUs); the scheduler reads it back from them when it starts.
/// </summary>
[GenerateSerializer, Alias("scheduler-state")]
public sealed class SchedulerState
{
    [Id(0)] public Dictionary<string, ScheduledDeployment> Deployments { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The scheduler's record of when each node's agent was last heard (<see cref="HeardNodes"/>), written when the grain
/// is deactivated (Orleans deactivates it when the silo that held its directory entry dies, or its silo shuts down) and
/// read by the next activation, so that the record survives everything but the death of the scheduler's own silo.
/// </summary>
[GenerateSerializer, Alias("scheduler-heard-state")]
public sealed class SchedulerHeardState
{
    [Id(0)] public Dictionary<string, HeardNode> Nodes { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>What a deployment grain stores.</summary>
[GenerateSerializer, Alias("deployment-state")]
public sealed class DeploymentState
{
    [Id(0)] public DeploymentSpec? Spec { get; set; }
    [Id(1)] public int Generation { get; set; }
    /// <summary>Written when the desired count changes; the lower-demand stretch in it may be older than the last signal.</summary>
    [Id(2)] public AutoscaleState? Autoscale { get; set; }
    [Id(3)] public DateTimeOffset CreatedAt { get; set; }
    /// <summary>The learned load time (placement to ready) of its replicas; null until one has loaded.</summary>
    [Id(4)] public TimeSpan? LoadTime { get; set; }
    /// <summary>The replica whose load was counted last, so a repeated observation counts once.</summary>
    [Id(5)] public string? LastLoadReplicaId { get; set; }
}
