namespace ControlPlane.Domain.Fleet;

/// <summary>What the control plane knows about a node's liveness, from its heartbeats alone.</summary>
[GenerateSerializer, Alias("node-health")]
public enum NodeHealth
{
    /// <summary>Enrolled by an operator; no heartbeat with inventory yet.</summary>
    Enrolled,
    /// <summary>Heartbeating on time.</summary>
    Ready,
    /// <summary>Missed enough heartbeats to stop routing to it, not enough to give its work away.</summary>
    Suspect,
    /// <summary>Missed so many heartbeats that its work is re-placed.</summary>
    Down,
}

/// <summary>What an operator has said about new placements on a node.</summary>
[GenerateSerializer, Alias("node-scheduling")]
public enum NodeScheduling
{
    /// <summary>New work may be placed.</summary>
    Schedulable,
    /// <summary>No new placements; what runs stays.</summary>
    Cordoned,
    /// <summary>No new placements; what runs is moved away.</summary>
    Draining,
}

/// <summary>The single status an operator reads: health problems first, then operator intent.</summary>
[GenerateSerializer, Alias("node-status")]
public enum NodeStatus
{
    Enrolled,
    Ready,
    Suspect,
    Down,
    Cordoned,
    Draining,
}

/// <summary>Whether the provider owns a node or rents it (owned is preferred at equal cost).</summary>
[GenerateSerializer, Alias("ownership")]
public enum Ownership
{
    Owned,
    Rented,
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
