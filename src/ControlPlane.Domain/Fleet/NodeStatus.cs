namespace ControlPlane.Domain.Fleet;

/// <summary>What the control plane knows about a node's liveness, from its heartbeats alone.</summary>
[GenerateSerializer, Alias("node-health")]
public enum NodeHealth
{
    /// <summary>Enrolled by an operator; no heartbeat with inventory yet.</summary>
    Enrolled = 0,
    /// <summary>Heartbeating on time.</summary>
    Ready = 1,
    /// <summary>Missed enough heartbeats to stop routing to it, not enough to give its work away.</summary>
    Suspect = 2,
    /// <summary>Missed so many heartbeats that its work is re-placed.</summary>
    Down = 3,
}

/// <summary>What an operator has said about new placements on a node.</summary>
[GenerateSerializer, Alias("node-scheduling")]
public enum NodeScheduling
{
    /// <summary>New work may be placed.</summary>
    Schedulable = 0,
    /// <summary>No new placements; what runs stays.</summary>
    Cordoned = 1,
    /// <summary>No new placements; what runs is moved away.</summary>
    Draining = 2,
}

/// <summary>The single status an operator reads: health problems first, then operator intent.</summary>
[GenerateSerializer, Alias("node-status")]
public enum NodeStatus
{
    Enrolled = 0,
    Ready = 1,
    Suspect = 2,
    Down = 3,
    Cordoned = 4,
    Draining = 5,
}

/// <summary>Whether the provider owns a node or rents it (owned is preferred at equal cost).</summary>
[GenerateSerializer, Alias("ownership")]
public enum Ownership
{
    Owned = 0,
    Rented = 1,
}

public static class NodeStatuses
{
    /// <summary>
    /// Combines health and operator intent. A suspect or down node shows that first, because it is what
    /// needs attention; a cordoned node that heartbeats shows <c>cordoned</c>.
    /// </summary>
    public static NodeStatus Combine(NodeHealth health, NodeScheduling scheduling) => health switch
    {
        NodeHealth.Suspect => NodeStatus.Suspect,
        NodeHealth.Down => NodeStatus.Down,
        _ when scheduling == NodeScheduling.Draining => NodeStatus.Draining,
        _ when scheduling == NodeScheduling.Cordoned => NodeStatus.Cordoned,
        NodeHealth.Enrolled => NodeStatus.Enrolled,
        _ => NodeStatus.Ready,
    };
}
