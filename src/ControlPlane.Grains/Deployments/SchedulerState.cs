using ControlPlane.Domain.Deployments;

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
