using System.Text.Json.Serialization;
using ControlPlane.Domain;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;

namespace ControlPlane.Server.Api.Fleet;

/// <summary>An operator's request to enroll a GPU node.</summary>
/// <param name="NodeId">Lower-case DNS label: letters, digits, '-' and '.', at most 63 characters.</param>
/// <param name="Region">Region id, same rules as a node id (e.g. <c>eu-west</c>).</param>
/// <param name="Provider">Who runs the hardware (e.g. <c>own-dc</c>, <c>coreweave</c>).</param>
/// <param name="Ownership"><c>owned</c> or <c>rented</c>.</param>
/// <param name="HourlyCostUsd">What the whole node costs per hour, in dollars.</param>
public sealed record EnrollNodeRequest(string? NodeId, string? Region, string? Provider, Ownership? Ownership, decimal? HourlyCostUsd);

/// <summary>The node's id and the bearer token its agent must use.</summary>
public sealed record EnrollNodeResponse(string NodeId, string Token);

/// <summary>A heartbeat from a node agent.</summary>
/// <param name="Sequence">Grows by one per heartbeat within an agent process, from 1.</param>
/// <param name="AgentSessionId">New per agent process, so a restart is told apart from a delayed request.</param>
/// <param name="InventoryError">Why the agent could not read its GPUs, when it could not.</param>
/// <param name="ModelCache">The node's local model cache; absent when the agent has none (then nothing is warm there).</param>
/// <param name="Sleeping">Engines of replicas asleep on the node; absent when the agent never puts one to sleep (none).</param>
/// <param name="SleepBudgetBytes">Host memory the agent lets sleeping engines take together; absent when it never puts one to sleep.</param>
public sealed record HeartbeatRequest(
    long? Sequence,
    string? AgentSessionId,
    string? AgentVersion,
    string? InventoryError,
    IReadOnlyList<GpuReport?>? Gpus,
    IReadOnlyList<ReplicaReport?>? Replicas,
    ModelCacheRequest? ModelCache = null,
    IReadOnlyList<SleepingEngineRequest?>? Sleeping = null,
    long? SleepBudgetBytes = null);

/// <summary>
/// A replica's engine asleep on the node: its weights in host memory, its GPUs' memory given back; a new replica
/// of the deployment on exactly these GPUs wakes it.
/// </summary>
/// <param name="GpuIndices">The node's GPUs it slept on.</param>
/// <param name="Bytes">Host memory its weights take.</param>
/// <param name="Batch">True for a batch replica's engine (absent: a dedicated or serverless one).</param>
public sealed record SleepingEngineRequest(string? DeploymentId, string? Model, IReadOnlyList<int>? GpuIndices, long? Bytes, bool? Batch = null);

/// <summary>What a node holds in its local model cache.</summary>
/// <param name="FreeBytes">Free room left on the cache's filesystem.</param>
/// <param name="Models">Models whose weights are complete there: <c>{model, bytes}</c>.</param>
/// <param name="PrefetchFailures">Prefetches that failed: <c>{model, attempts, error}</c>.</param>
public sealed record ModelCacheRequest(long? FreeBytes, IReadOnlyList<CachedModelRequest?>? Models, IReadOnlyList<PrefetchFailureRequest?>? PrefetchFailures);

/// <summary>A model whose weights are complete in the cache, and their size on disk.</summary>
public sealed record CachedModelRequest(string? Model, long? Bytes);

/// <summary>A prefetch the agent could not finish; <paramref name="Attempts"/> grows with every try.</summary>
public sealed record PrefetchFailureRequest(string? Model, int? Attempts, string? Error);

/// <summary>One GPU as <c>nvidia-smi</c> reports it; readings it could not take are null.</summary>
public sealed record GpuReport(
    int? Index,
    string? Uuid,
    string? Name,
    long? MemoryTotalMiB,
    long? MemoryUsedMiB,
    int? UtilizationPercent,
    int? TemperatureC,
    double? PowerWatts,
    long? EccUncorrected);

/// <summary>A replica the agent runs and its state: <c>starting</c>, <c>ready</c> or <c>failed</c>.</summary>
public sealed record ReplicaReport(string? ReplicaId, string? State);

/// <summary>What the agent should do next.</summary>
/// <param name="Prefetch">Models whose weights the agent should fetch into its model cache (those not warm there yet).</param>
/// <param name="StopSleeping">
/// Deployments that no longer exist whose engines the node reported asleep: the agent stops them (they would never be
/// woken); absent when there are none.
/// </param>
public sealed record HeartbeatResponse(
    int HeartbeatIntervalSeconds,
    IReadOnlyList<DesiredReplica> Desired,
    IReadOnlyList<string> Prefetch,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? StopSleeping = null);

/// <summary>A replica the node should run.</summary>
/// <param name="SharedRequestPriority">
/// <c>low</c> on a dedicated replica: it may also serve shared (serverless, batch) requests for the same model, at a
/// lower priority than its own deployment's (start the engine with request priorities); null on shared replicas.
/// </param>
/// <param name="Tier">
/// <c>reserved</c>, <c>burst</c>, <c>serverless</c> or <c>batch</c>. An agent may put a dedicated replica's engine (reserved or
/// burst) to sleep when the replica leaves this list, and wake it for a new replica of the deployment on the same GPUs.
/// </param>
/// <param name="Image">The deployment's engine image, for agents that run replicas as Kubernetes pods; left out when it names none.</param>
public sealed record DesiredReplica(
    string ReplicaId,
    string DeploymentId,
    string Model,
    IReadOnlyList<int> GpuIndices,
    string? SharedRequestPriority,
    string Tier,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Image = null);
