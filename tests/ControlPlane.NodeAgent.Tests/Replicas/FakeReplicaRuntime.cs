using ControlPlane.NodeAgent.Replicas;

namespace ControlPlane.NodeAgent.Tests.Replicas;

/// <summary>A runtime whose replicas do only what the test tells them: change state, finish stopping, fall asleep.</summary>
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

    public bool CanSleep { get; set; } = true;

    /// <summary>How many passes over a reply's list told the runtime they were done.</summary>
    public int ReconciledCalls { get; private set; }

    public void Reconciled() => ReconciledCalls++;

    /// <summary>Replicas woken from sleep, in order (not in <see cref="Started"/>).</summary>
    public List<FakeReplica> Woken { get; } = [];

    public IReplica Start(ReplicaSpec spec)
    {
        var replica = new FakeReplica(spec, this);
        lock (_gate)
        {
            _started.Add(replica);
        }

        return replica;
    }

    /// <summary>The replica started last with this id.</summary>
    public FakeReplica Get(string replicaId) => Started.Last(r => r.Spec.ReplicaId == replicaId);
}

internal sealed class FakeReplica(ReplicaSpec spec, FakeReplicaRuntime runtime) : IReplica
{
    // Continuations run inline, so that a replica finished stopping has left the supervisor's reports on return.
    private readonly TaskCompletionSource _stopped = new();
    private readonly TaskCompletionSource<bool> _asleep = new();
    private int _stopCalls;
    private int _sleepCalls;

    /// <summary>Its engine, when it was woken from a sleeping replica's.</summary>
    public FakeReplica? WokenFrom { get; init; }

    public int SleepCalls => Volatile.Read(ref _sleepCalls);

    /// <summary>Whether a sleep asked for completes at once (true) or waits for <see cref="FinishSleeping"/>.</summary>
    public bool SleepsAtOnce { get; set; } = true;

    public Task<bool> SleepAsync()
    {
        Interlocked.Increment(ref _sleepCalls);
        if (SleepsAtOnce)
        {
            _asleep.TrySetResult(true);
        }

        return _asleep.Task;
    }

    public void FinishSleeping(bool asleep) => _asleep.TrySetResult(asleep);

    public IReplica Wake(ReplicaSpec spec)
    {
        var woken = new FakeReplica(spec, runtime) { WokenFrom = this };
        runtime.Woken.Add(woken);
        return woken;
    }

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
