using System.Text.Json;
using System.Text.Json.Serialization;
using ControlPlane.NodeAgent.Gpus;

namespace ControlPlane.NodeAgent.Heartbeats;

/// <summary>Body of <c>POST /agent/v1/nodes/{nodeId}/heartbeat</c>.</summary>
/// <param name="Sequence">1 for the first heartbeat of an agent process, then +1 for each one sent (retries included).</param>
/// <param name="AgentSessionId">New for every agent process start, so the server can tell a restart from a reordering.</param>
/// <param name="AgentVersion">The agent's informational version.</param>
/// <param name="InventoryError">Why nvidia-smi could not be read; <see cref="Gpus"/> then holds the last GPUs known.</param>
/// <param name="Gpus">The node's GPUs, read fresh for this heartbeat.</param>
/// <param name="Replicas">Replicas running on the node; always empty until the agent runs replicas.</param>
internal sealed record HeartbeatRequest(
    long Sequence,
    Guid AgentSessionId,
    string AgentVersion,
    string? InventoryError,
    IReadOnlyList<GpuReport> Gpus,
    IReadOnlyList<JsonElement> Replicas);

/// <summary>The server's answer to an accepted heartbeat.</summary>
/// <param name="HeartbeatIntervalSeconds">When to send the next heartbeat.</param>
/// <param name="Desired">The node's desired replicas; not acted on yet.</param>
internal sealed record HeartbeatReply(int? HeartbeatIntervalSeconds, IReadOnlyList<JsonElement>? Desired);

/// <summary>The parts of an RFC 9457 problem details body that an operator needs to read.</summary>
internal sealed record ProblemDetailsReply(string? Title, string? Detail);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(HeartbeatRequest))]
[JsonSerializable(typeof(HeartbeatReply))]
[JsonSerializable(typeof(ProblemDetailsReply))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
