namespace ControlPlane.NodeAgent.Replicas;

/// <summary>
/// Pretends to run replicas: each turns ready <paramref name="loadTime"/> after it starts (measured on
/// <paramref name="time"/>) and stops at once. For the simulator's fleets, and to try the agent and the control
/// plane end to end on a machine without an inference engine.
/// </summary>
internal sealed class SimulatedReplicaRuntime(TimeSpan loadTime, TimeProvider time) : IReplicaRuntime
{
    public IReplica Start(ReplicaSpec spec) => new SimulatedReplica(spec, loadTime, time);

    private sealed class SimulatedReplica : IReplica
    {
        private readonly ITimer? _loaded;
        private volatile ReplicaStatus _status = ReplicaStatus.Starting;
        private volatile bool _stopped;

        public SimulatedReplica(ReplicaSpec spec, TimeSpan loadTime, TimeProvider time)
        {
            Spec = spec;
            if (loadTime <= TimeSpan.Zero)
            {
                _status = ReplicaStatus.Ready;
                return;
            }

            _loaded = time.CreateTimer(_ => OnLoaded(), null, loadTime, Timeout.InfiniteTimeSpan);
        }

        public ReplicaSpec Spec { get; }

        public ReplicaStatus Status => _status;

        public Task StopAsync()
        {
            _stopped = true;
            _loaded?.Dispose();
            return Task.CompletedTask;
        }

        private void OnLoaded()
        {
            // A timer callback already under way when the replica was stopped must not bring it back.
            if (!_stopped)
            {
                _status = ReplicaStatus.Ready;
            }
        }
    }
}
