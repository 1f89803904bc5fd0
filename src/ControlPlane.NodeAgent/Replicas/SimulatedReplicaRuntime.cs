namespace ControlPlane.NodeAgent.Replicas;

/// <summary>
/// Pretends to run replicas: each turns ready <paramref name="loadTime"/> after it starts (measured on
/// <paramref name="time"/>) and stops at once. For the simulator's fleets, and to try the agent and the control
/// plane end to end on a machine without an inference engine. A replica that turns ready calls
/// <paramref name="onLoaded"/> with its model: the weights it loaded are on the node now (the model cache's warm list).
/// A replica falls asleep at once and wakes <paramref name="wakeTime"/> after it is asked to (none: <see cref="SimulatedRuntimeOptions.DefaultWakeTime"/>).
/// </summary>
internal sealed class SimulatedReplicaRuntime(TimeSpan loadTime, TimeProvider time, Action<string>? onLoaded = null, TimeSpan? wakeTime = null) : IReplicaRuntime
{
    public bool CanSleep => true;

    public IReplica Start(ReplicaSpec spec) => new SimulatedReplica(spec, loadTime, wakeTime ?? SimulatedRuntimeOptions.DefaultWakeTime, time, onLoaded);

    private sealed class SimulatedReplica : IReplica
    {
        private readonly ITimer? _loaded;
        private readonly Action<string>? _onLoaded;
        private readonly TimeSpan _wakeTime;
        private readonly TimeProvider _time;
        private volatile ReplicaStatus _status = ReplicaStatus.Starting;
        private volatile bool _stopped;

        public SimulatedReplica(ReplicaSpec spec, TimeSpan loadTime, TimeSpan wakeTime, TimeProvider time, Action<string>? onLoaded)
        {
            Spec = spec;
            _onLoaded = onLoaded;
            _wakeTime = wakeTime;
            _time = time;
            if (loadTime <= TimeSpan.Zero)
            {
                _status = ReplicaStatus.Ready;
                onLoaded?.Invoke(spec.Model);
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

        public Task<bool> SleepAsync() => Task.FromResult(!_stopped);

        // A wake is a load that takes the wake time; the weights were warm already.
        public IReplica Wake(ReplicaSpec spec) => new SimulatedReplica(spec, _wakeTime, _wakeTime, _time, onLoaded: null);

        private void OnLoaded()
        {
            // A timer callback already under way when the replica was stopped must not bring it back.
            if (!_stopped)
            {
                _status = ReplicaStatus.Ready;
                _onLoaded?.Invoke(Spec.Model);
            }
        }
    }
}
