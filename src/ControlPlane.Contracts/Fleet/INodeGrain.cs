using Orleans.Concurrency;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;
using ControlPlane.Domain.Pools;

namespace ControlPlane.Contracts.Fleet;

/// <summary>
/// One GPU node, keyed by <see cref="GrainKeys.Node"/>. It owns the node's inventory, health and
/// heartbeat sequence, and is the lock on its own GPUs. Heartbeats come here and nowhere else; the node
/// tells its pool only about changes.
/// </summary>
[Alias("INodeGrain")]
public interface INodeGrain : IGrainWithStringKey
{
    /// <summary>Enrolls the node. Enrolling again with the same idempotency key and terms returns the first result.</summary>
    [Alias("EnrollAsync")]
    Task<EnrollmentResult> EnrollAsync(NodeEnrollment enrollment);

    /// <summary>
    /// Gives the node a new token; the one it had is refused from now on (every heartbeat is checked here). Null when the
    /// node was never enrolled.
    /// </summary>
    [Alias("RotateTokenAsync")]
    Task<EnrollmentResult?> RotateTokenAsync();

    /// <summary>
    /// Takes the node's token away: no token works for it until an operator rotates it or its agent enrols again with a
    /// join token of its region. False when the node was never enrolled.
    /// </summary>
    [Alias("RevokeTokenAsync")]
    Task<bool> RevokeTokenAsync();

    /// <summary>
    /// A join token's enrolment of a node that is enrolled already: a new token when the node has none (it was revoked)
    /// and the region is the node's; otherwise <see cref="EnrollmentStatus.AlreadyEnrolled"/>.
    /// </summary>
    [Alias("RejoinAsync")]
    Task<EnrollmentResult> RejoinAsync(string region);

    /// <summary>Applies a heartbeat from the node's agent.</summary>
    [Alias("HeartbeatAsync")]
    Task<HeartbeatOutcome> HeartbeatAsync(NodeHeartbeat heartbeat);

    /// <summary>The node as operators see it, or null when it was never enrolled.</summary>
    [Alias("GetAsync")]
    Task<NodeView?> GetAsync();

    /// <summary>Sets what the operator wants for new placements; null when the node was never enrolled.</summary>
    [Alias("SetSchedulingAsync")]
    Task<NodeView?> SetSchedulingAsync(NodeScheduling scheduling);

    /// <summary>Re-evaluates health now (used by the watchdog reminder and tests).</summary>
    [Alias("CheckHealthAsync")]
    Task CheckHealthAsync();

    /// <summary>
    /// Re-evaluates health now, told by the scheduler that the cluster has not heard the node's agent for
    /// <paramref name="silence"/>: an activation that has not heard the agent itself (it has just come back) counts the
    /// silence from there rather than from its own start. <paramref name="grainLost"/>: the silo that held the grain
    /// died, so a live agent may not have reached it; the node is then not called down before a grace.
    /// </summary>
    [Alias("CheckSilenceAsync")]
    Task CheckSilenceAsync(TimeSpan silence, bool grainLost);

    /// <summary>
    /// Gives a replica GPUs if they are free or held by the named lower-tier <paramref name="victims"/> (who are
    /// preempted), on a node that takes new work. Claiming again what the replica holds succeeds without a change.
    /// </summary>
    [Alias("ClaimAsync")]
    Task<NodeClaimResult> ClaimAsync(PlacedReplica replica, string[] victims);

    /// <summary>Frees a replica's GPUs (its agent is told to stop it); a replica the node does not hold changes nothing.</summary>
    [Alias("ReleaseAsync")]
    Task<NodePlacementReport?> ReleaseAsync(string replicaId);

    /// <summary>The node as the scheduler sees it; null when it was never enrolled.</summary>
    [Alias("GetPlacementAsync")]
    Task<NodePlacementReport?> GetPlacementAsync();

    /// <summary>
    /// Sets the models whose weights the node's agent should fetch into its model cache (the heartbeat reply's
    /// <c>prefetch</c> list; models already warm there are left out of it). Setting the same list again changes nothing.
    /// </summary>
    [Alias("SetPrefetchAsync")]
    Task SetPrefetchAsync(string[] models);

    /// <summary>
    /// The node's capacity as it tells its pool; null when it was never enrolled. A pool rebuilding its index asks every
    /// node of its region, while a node may be waiting on that pool, so this only reads and runs interleaved.
    /// </summary>
    [AlwaysInterleave, Alias("GetCapacityAsync")]
    Task<NodeCapacity?> GetCapacityAsync();
}

/// <summary>What a node's agent says about its local model cache in a heartbeat.</summary>
/// <param name="FreeBytes">Free room left on the cache's filesystem.</param>
/// <param name="Models">Models whose weights are complete in the cache, with their sizes.</param>
/// <param name="PrefetchFailures">Prefetches the agent tried and could not finish (and has not finished since).</param>
[GenerateSerializer, Alias("model-cache-report")]
public sealed record ModelCacheReport(
    [property: Id(0)] long FreeBytes,
    [property: Id(1)] WarmModel[] Models,
    [property: Id(2)] PrefetchFailure[] PrefetchFailures);

/// <summary>How a claim ended, and the node's state after it.</summary>
/// <param name="Report">Null when the node was never enrolled.</param>
[GenerateSerializer, Alias("node-claim-result")]
public sealed record NodeClaimResult(
    [property: Id(0)] ClaimStatus Status,
    [property: Id(1)] NodePlacementReport? Report,
    [property: Id(2)] GpuHolder[] Preempted)
{
    public bool Succeeded => Status is ClaimStatus.Claimed or ClaimStatus.AlreadyClaimed;
}

/// <summary>A replica the agent runs and the state it reports.</summary>
[GenerateSerializer, Alias("replica-report")]
public sealed record ReplicaReport(
    [property: Id(0)] string ReplicaId,
    [property: Id(1)] ReplicaState State);

/// <summary>An operator's enrollment of a node.</summary>
[GenerateSerializer, Alias("node-enrollment")]
public sealed record NodeEnrollment(
    [property: Id(0)] string NodeId,
    [property: Id(1)] string Region,
    [property: Id(2)] string Provider,
    [property: Id(3)] Ownership Ownership,
    [property: Id(4)] decimal HourlyCostUsd,
    [property: Id(5)] string? IdempotencyKey);

[GenerateSerializer, Alias("enrollment-status")]
public enum EnrollmentStatus
{
    /// <summary>Enrolled now, or a retry of the same enrollment.</summary>
    Enrolled,
    /// <summary>A different enrollment of this node id exists.</summary>
    AlreadyEnrolled,
}

/// <summary>The result of an enrollment: the id of the token the node must present.</summary>
/// <param name="TokenId">Id of the node's current token (the server signs it into a bearer token).</param>
/// <param name="TokenIssuedAt">When the token was issued.</param>
[GenerateSerializer, Alias("enrollment-result")]
public sealed record EnrollmentResult(
    [property: Id(0)] EnrollmentStatus Status,
    [property: Id(1)] string? TokenId,
    [property: Id(2)] DateTimeOffset? TokenIssuedAt);

/// <summary>A heartbeat as the node grain takes it.</summary>
/// <param name="TokenId">The id inside the bearer token the agent used; a replaced token is refused.</param>
/// <param name="Sleeping">Engines of dedicated replicas asleep on the node (GPUs ascending); null or empty: none.</param>
/// <param name="SleepBudgetBytes">Host memory the agent lets sleeping engines take; null when it never puts one to sleep.</param>
[GenerateSerializer, Alias("node-heartbeat")]
public sealed record NodeHeartbeat(
    [property: Id(0)] long Sequence,
    [property: Id(1)] string? AgentSessionId,
    [property: Id(2)] string? AgentVersion,
    [property: Id(3)] IReadOnlyList<GpuReading> Gpus,
    [property: Id(4)] string? InventoryError,
    [property: Id(5)] string TokenId,
    [property: Id(6)] IReadOnlyList<ReplicaReport>? Replicas = null,
    [property: Id(7)] ModelCacheReport? ModelCache = null,
    [property: Id(8)] IReadOnlyList<SleepingEngine>? Sleeping = null,
    [property: Id(9)] long? SleepBudgetBytes = null);

[GenerateSerializer, Alias("heartbeat-result")]
public enum HeartbeatResult
{
    Accepted,
    /// <summary>Older than one already applied: ignored.</summary>
    Stale,
    NotEnrolled,
    /// <summary>The token is not the node's current one.</summary>
    TokenRevoked,
}

[GenerateSerializer, Alias("heartbeat-outcome")]
public sealed record HeartbeatOutcome(
    [property: Id(0)] HeartbeatResult Result,
    [property: Id(1)] int HeartbeatIntervalSeconds,
    [property: Id(2)] IReadOnlyList<PlacedReplica>? Desired = null,
    [property: Id(3)] IReadOnlyList<string>? Prefetch = null);

/// <summary>Live readings of one GPU as last reported, with its normalised SKU.</summary>
[GenerateSerializer, Alias("gpu-view")]
public sealed record GpuView(
    [property: Id(0)] int Index,
    [property: Id(1)] string Uuid,
    [property: Id(2)] string Name,
    [property: Id(3)] string Sku,
    [property: Id(4)] long MemoryTotalMiB,
    [property: Id(5)] long? MemoryUsedMiB,
    [property: Id(6)] int? UtilizationPercent,
    [property: Id(7)] int? TemperatureC,
    [property: Id(8)] double? PowerWatts,
    [property: Id(9)] long? EccUncorrected,
    [property: Id(10)] bool Healthy);

/// <summary>A node as operators see it.</summary>
/// <param name="WarmModels">Models whose weights the node holds complete in its local cache, with their sizes.</param>
/// <param name="ModelCacheFreeBytes">Free room in the node's model cache; null when its agent reports no cache.</param>
/// <param name="Prefetch">Models the scheduler asked the node to fetch that are not warm there yet.</param>
/// <param name="PrefetchFailures">Prefetches the agent could not finish.</param>
/// <param name="Sleeping">Engines of dedicated replicas asleep on the node, as its agent last reported them.</param>
/// <param name="SleepBudgetBytes">Host memory the node's agent lets sleeping engines take; null when it never puts one to sleep.</param>
[GenerateSerializer, Alias("node-view")]
public sealed record NodeView(
    [property: Id(0)] string NodeId,
    [property: Id(1)] string Region,
    [property: Id(2)] string Provider,
    [property: Id(3)] Ownership Ownership,
    [property: Id(4)] decimal HourlyCostUsd,
    [property: Id(5)] NodeStatus Status,
    [property: Id(6)] NodeHealth Health,
    [property: Id(7)] NodeScheduling Scheduling,
    [property: Id(8)] string? Sku,
    [property: Id(9)] int GpuCount,
    [property: Id(10)] long GpuMemoryMiB,
    [property: Id(11)] int HealthyGpuCount,
    [property: Id(12)] DateTimeOffset EnrolledAt,
    [property: Id(13)] DateTimeOffset? LastHeartbeatAt,
    [property: Id(14)] string? AgentVersion,
    [property: Id(15)] string? InventoryError,
    [property: Id(16)] IReadOnlyList<GpuView> Gpus,
    [property: Id(17)] IReadOnlyList<WarmModel>? WarmModels = null,
    [property: Id(18)] long? ModelCacheFreeBytes = null,
    [property: Id(19)] IReadOnlyList<string>? Prefetch = null,
    [property: Id(20)] IReadOnlyList<PrefetchFailure>? PrefetchFailures = null,
    [property: Id(21)] IReadOnlyList<SleepingEngine>? Sleeping = null,
    [property: Id(22)] long? SleepBudgetBytes = null);
