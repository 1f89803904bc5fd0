namespace ControlPlane.NodeAgent.Replicas;

/// <summary>
/// Runs replicas on this node: the one part of the agent that differs between a real inference engine
/// (<see cref="CommandReplicaRuntime"/>) and a pretend one (<see cref="SimulatedReplicaRuntime"/>).
/// </summary>
internal interface IReplicaRuntime
{
    /// <summary>
    /// Starts a replica and returns at once, without throwing: one that cannot start comes back
    /// <see cref="ReplicaState.Failed"/>, so that the server hears about it in the next heartbeat.
    /// </summary>
    IReplica Start(ReplicaSpec spec);
}

/// <summary>One replica a runtime started. Its status changes on its own (loaded, crashed).</summary>
internal interface IReplica
{
    ReplicaSpec Spec { get; }

    ReplicaStatus Status { get; }

    /// <summary>
    /// Stops the replica within a bounded time, killing it if it must; the task completes once nothing of it
    /// runs, and never faults. Every call returns the same task. After the call the status no longer changes.
    /// </summary>
    Task StopAsync();
}
