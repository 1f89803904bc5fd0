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

    /// <summary>
    /// Whether its replicas' engines can be put to sleep (<see cref="IReplica.SleepAsync"/>) and woken again
    /// (<see cref="IReplica.Wake"/>): a sleeping engine keeps its process and its weights in host memory and gives its
    /// GPUs' memory back.
    /// </summary>
    bool CanSleep { get; }

    /// <summary>
    /// Whether the agent stops its replicas when it exits. True for replicas that are the agent's own processes; false for
    /// pods, which Kubernetes removes with the agent's pod and which an agent restarted in the same pod takes back.
    /// </summary>
    bool StopsReplicasOnExit => true;

    /// <summary>
    /// Told after each pass over a heartbeat reply's list: every replica the list wants was started (or adopted) by then.
    /// A runtime that found replicas of an earlier agent process removes those the list did not want.
    /// </summary>
    void Reconciled()
    {
    }
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

    /// <summary>
    /// Puts a ready replica's engine to sleep (only when the runtime <see cref="IReplicaRuntime.CanSleep"/>): true once it
    /// sleeps, false when it could not (the caller then stops it). Never faults. Its status no longer changes but to
    /// <see cref="ReplicaState.Failed"/> (the engine died in its sleep).
    /// </summary>
    Task<bool> SleepAsync();

    /// <summary>
    /// Wakes the sleeping engine to serve <paramref name="spec"/> (the same deployment, model and GPUs under a new replica
    /// id) and returns at once: the returned replica is <see cref="ReplicaState.Starting"/> until the engine is awake,
    /// then ready (failed if the wake failed), and stopping it stops the engine. This object is not used again.
    /// </summary>
    IReplica Wake(ReplicaSpec spec);
}
