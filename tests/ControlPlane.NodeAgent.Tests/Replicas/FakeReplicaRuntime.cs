using ControlPlane.NodeAgent.Replicas;

namespace ControlPlane.NodeAgent.Tests.Replicas;

/// <summary>A runtime whose replicas do only what the test tells them: change state, finish stopping.</summary>
internal sealed class FakeReplicaRuntime : IReplicaRuntime
{
    private readonly Lock _gate = new();
    private readonly List<FakeReplica> _started = [];

    /// <summary>Every replica started, in order.</summary>
    public IReadOnlyList<FakeReplica> Started
    {
        get
        {
            lock (_gate)
            {
                return [.. _started];
            }
        }
    }

    public IReplica Start(ReplicaSpec spec)
    {
        var replica = new FakeReplica(spec);
        lock (_gate)
        {
            _started.Add(replica);
        }

        return replica;
    }

    /// <summary>The replica started last with this id.</summary>
    public FakeReplica Get(string replicaId) => Started.Last(r => r.Spec.ReplicaId == replicaId);
}

internal sealed class FakeReplica(ReplicaSpec spec) : IReplica
{
    // Continuations run inline, so that a replica finished stopping has left the supervisor's reports on return.
    private readonly TaskCompletionSource _stopped = new();
    private int _stopCalls;

    public ReplicaSpec Spec { get; } = spec;

    public ReplicaStatus Status { get; set; } = ReplicaStatus.Starting;

    public int StopCalls => Volatile.Read(ref _stopCalls);

    public Task StopAsync()
    {
        Interlocked.Increment(ref _stopCalls);
        return _stopped.Task;
    }

    public void FinishStopping() => _stopped.TrySetResult();
}
