using System.Text.Json;
using System.Text.Json.Serialization;
using ControlPlane.NodeAgent.Gpus;
using ControlPlane.NodeAgent.Replicas;

namespace ControlPlane.NodeAgent.Heartbeats;

/// <summary>Body of <c>POST /agent/v1/nodes/{nodeId}/heartbeat</c>.</summary>
/// <param name="Sequence">1 for the first heartbeat of an agent process, then +1 for each one sent (retries included).</param>
/// <param name="AgentSessionId">New for every agent process start, so the server can tell a restart from a reordering.</param>
/// <param name="AgentVersion">The agent's informational version.</param>
/// <param name="InventoryError">Why nvidia-smi could not be read; <see cref="Gpus"/> then holds the last GPUs known.</param>
/// <param name="Gpus">The node's GPUs, read fresh for this heartbeat.</param>
/// <param name="Replicas">Replicas running on the node now: desired ones, starting ones and ones still stopping.</param>
/// <param name="ModelCache">The node's model cache; null without <c>--model-cache</c>.</param>
/// <param name="Sleeping">
/// Engines of dedicated and serverless replicas asleep or falling asleep on the node; null when the agent never puts one to sleep.
/// </param>
/// <param name="SleepBudgetBytes">Host memory sleeping engines' weights may take together (<c>--sleep-budget-gb</c>); null with <see cref="Sleeping"/>.</param>
internal sealed record HeartbeatRequest(
    long Sequence,
    Guid AgentSessionId,
    string AgentVersion,
    string? InventoryError,
    IReadOnlyList<GpuReport> Gpus,
    IReadOnlyList<ReplicaReport> Replicas,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ModelCacheReport? ModelCache = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<SleepingReport>? Sleeping = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? SleepBudgetBytes = null);

/// <summary>
/// An engine asleep on the node: it keeps its process and its weights in host memory, gives its GPUs' memory back, and
/// wakes for a new replica of <paramref name="DeploymentId"/> on exactly <paramref name="GpuIndices"/>.
/// </summary>
/// <param name="GpuIndices">The GPUs it slept on, ascending.</param>
/// <param name="Bytes">Its weights' size (the model's size in the model cache): host memory it holds.</param>
/// <param name="Batch">True for a batch replica's engine (placement need not keep off its GPUs); absent otherwise.</param>
internal sealed record SleepingReport(
    string DeploymentId,
    string Model,
    IReadOnlyList<int> GpuIndices,
    long Bytes,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Batch = null);

/// <summary>The node's model cache in a heartbeat.</summary>
/// <param name="FreeBytes">Free room left on the cache's filesystem.</param>
/// <param name="Models">Models whose weights are complete in the cache.</param>
/// <param name="PrefetchFailures">Prefetches that failed and have not succeeded since, for models the server still asks for.</param>
internal sealed record ModelCacheReport(long FreeBytes, IReadOnlyList<CachedModel> Models, IReadOnlyList<PrefetchFailureReport> PrefetchFailures);

/// <summary>A complete model in the cache and its size on disk.</summary>
internal sealed record CachedModel(string Model, long Bytes);

/// <summary>A failed prefetch: <paramref name="Attempts"/> grows with every try.</summary>
internal sealed record PrefetchFailureReport(string Model, int Attempts, string Error);

/// <summary>One replica the node runs, in a heartbeat.</summary>
/// <param name="State"><c>starting</c>, <c>ready</c> or <c>failed</c>; a replica being stopped keeps the state it had until it is gone.</param>
internal sealed record ReplicaReport(string ReplicaId, ReplicaState State);

/// <summary>The server's answer to an accepted heartbeat.</summary>
/// <param name="HeartbeatIntervalSeconds">When to send the next heartbeat.</param>
/// <param name="Desired">
/// Every replica the node should run now; <see langword="null"/> (no list in the reply) leaves the node's replicas as they are.
/// </param>
/// <param name="Prefetch">Models whose weights the node should fetch into its model cache.</param>
/// <param name="StopSleeping">Deployments the node reported sleeping engines of that no longer exist: stop those engines.</param>
internal sealed record HeartbeatReply(int? HeartbeatIntervalSeconds, IReadOnlyList<DesiredReplica?>? Desired, IReadOnlyList<string?>? Prefetch = null, IReadOnlyList<string?>? StopSleeping = null);

/// <summary>
/// A replica the server wants on this node. Every field may be missing so that one bad entry is turned away on its own
/// (<see cref="ReplicaSpec.TryCreate"/>) rather than failing the whole reply; a value of the wrong JSON type still does.
/// </summary>
/// <param name="GpuIndices">The node's GPUs (nvidia-smi indices) for the replica.</param>
/// <param name="SharedRequestPriority"><c>low</c> on a dedicated replica that may serve shared requests of its model behind its own.</param>
/// <param name="Tier"><c>reserved</c>, <c>burst</c>, <c>serverless</c> or <c>batch</c>: a dedicated or serverless replica (reserved, burst, serverless) may sleep when no longer desired.</param>
/// <param name="Image">The engine's container image, as the deployment names it; null when it names none (the Kubernetes runtime then uses <c>--engine-image</c>).</param>
internal sealed record DesiredReplica(string? ReplicaId, string? DeploymentId, string? Model, IReadOnlyList<int>? GpuIndices, string? SharedRequestPriority = null, string? Tier = null, string? Image = null);

/// <summary>The parts of an RFC 9457 problem details body that an operator needs to read.</summary>
internal sealed record ProblemDetailsReply(string? Title, string? Detail);

/// <summary>Body of <c>POST /agent/v1/enrol</c>.</summary>
internal sealed record EnrolRequest(string NodeId);

/// <summary>The node's own token, as the server hands it out once enrolled.</summary>
internal sealed record EnrolReply(string? NodeId, string? Token);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(HeartbeatRequest))]
[JsonSerializable(typeof(HeartbeatReply))]
[JsonSerializable(typeof(ProblemDetailsReply))]
[JsonSerializable(typeof(EnrolRequest))]
[JsonSerializable(typeof(EnrolReply))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
