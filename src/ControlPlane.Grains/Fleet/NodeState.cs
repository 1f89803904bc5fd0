using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;

namespace ControlPlane.Grains.Fleet;

/// <summary>
/// What a node grain stores. Only what changes rarely lives here (enrollment, inventory, health,
/// operator intent); live readings and the heartbeat sequence stay in memory, so a heartbeat that
/// changes nothing writes nothing.
/// </summary>
[GenerateSerializer, Alias("node-state")]
public sealed class NodeState
{
    [Id(0)] public NodeTerms? Terms { get; set; }
    [Id(1)] public string? TokenId { get; set; }
    [Id(2)] public DateTimeOffset? TokenIssuedAt { get; set; }
    [Id(3)] public NodeHealth Health { get; set; }
    [Id(4)] public NodeScheduling Scheduling { get; set; }
    [Id(5)] public List<GpuSlot> Gpus { get; set; } = [];
    /// <summary>When the last stored change came from a heartbeat (not updated by unchanged heartbeats).</summary>
    [Id(6)] public DateTimeOffset? LastHeartbeatAt { get; set; }
    [Id(7)] public string? AgentVersion { get; set; }
    [Id(8)] public string? InventoryError { get; set; }
    /// <summary>Grows with every capacity change told to the pool, so the pool can drop reordered updates.</summary>
    [Id(9)] public long CapacityVersion { get; set; }
    // Id 10 (a "watchdog registered" flag) is retired: enrollment registers the reminder before it writes.
    /// <summary>Which replica holds each GPU: the lock on the node's GPUs. Null until the node has reported GPUs.</summary>
    [Id(11)] public NodeSlots? Slots { get; set; }
    /// <summary>The replicas holding GPUs, with what the agent last said about each; kept in one record with <see cref="Slots"/>.</summary>
    [Id(12)] public List<PlacedReplica> Replicas { get; set; } = [];
    /// <summary>Grows with every change the scheduler must hear of, so it can drop reordered reports.</summary>
    [Id(13)] public long PlacementVersion { get; set; }
    /// <summary>Models whose weights the node's cache holds complete, as its agent last reported them.</summary>
    [Id(14)] public List<WarmModel> WarmModels { get; set; } = [];
    /// <summary>Free room in the node's model cache as last stored (a change under <see cref="ModelCache.FreeBytesStep"/> is not); null without a cache.</summary>
    [Id(15)] public long? CacheFreeBytes { get; set; }
    /// <summary>Models the scheduler asked the node to fetch.</summary>
    [Id(16)] public List<string> Prefetch { get; set; } = [];
    /// <summary>Prefetches the agent reports as failed.</summary>
    [Id(17)] public List<PrefetchFailure> PrefetchFailures { get; set; } = [];
    /// <summary>Engines of dedicated replicas asleep on the node, as its agent last reported them; emptied when the node goes down.</summary>
    [Id(18)] public List<SleepingEngine> Sleeping { get; set; } = [];
    /// <summary>Host memory the agent lets sleeping engines take, as it last reported; null when it never puts one to sleep.</summary>
    [Id(19)] public long? SleepBudgetBytes { get; set; }
}

/// <summary>The terms an operator enrolled a node with.</summary>
[GenerateSerializer, Alias("node-terms")]
public sealed record NodeTerms(
    [property: Id(0)] string NodeId,
    [property: Id(1)] string Region,
    [property: Id(2)] string Provider,
    [property: Id(3)] Ownership Ownership,
    [property: Id(4)] decimal HourlyCostUsd,
    [property: Id(5)] DateTimeOffset EnrolledAt,
    [property: Id(6)] string? IdempotencyKey);
