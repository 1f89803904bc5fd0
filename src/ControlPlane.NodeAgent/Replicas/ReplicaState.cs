using System.Text.Json.Serialization;

namespace ControlPlane.NodeAgent.Replicas;

/// <summary>Where a replica is, as the heartbeat reports it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ReplicaState>))]
internal enum ReplicaState
{
    /// <summary>Started, not serving yet (loading the model, or its ready command has not passed).</summary>
    [JsonStringEnumMemberName("starting")]
    Starting,

    /// <summary>Serving.</summary>
    [JsonStringEnumMemberName("ready")]
    Ready,

    /// <summary>Could not start, or exited without being asked to; the agent does not restart it, the server decides.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,
}

/// <summary>A replica's state and, once failed, why; one immutable value so that both are read together.</summary>
internal sealed record ReplicaStatus(ReplicaState State, string? Failure)
{
    public static readonly ReplicaStatus Starting = new(ReplicaState.Starting, null);

    public static readonly ReplicaStatus Ready = new(ReplicaState.Ready, null);

    public static ReplicaStatus Failed(string why) => new(ReplicaState.Failed, why);
}
