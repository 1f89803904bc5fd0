using ControlPlane.NodeAgent.Heartbeats;

namespace ControlPlane.NodeAgent.Replicas;

/// <summary>
/// Makes the node run what the server last asked for, as a kubelet does with its pod list: after every accepted
/// heartbeat, <see cref="Reconcile"/> starts the desired replicas the node does not run and stops the ones no longer
/// desired; before every heartbeat, <see cref="Report"/> says what runs now, replicas still starting or stopping
/// included. Only a reply that carries a list changes anything: replicas keep serving through a control-plane outage.
/// </summary>
/// <remarks>
/// A replica is never restarted here: a failed one is reported failed until the server replaces it. A replica id
/// names one placement, so an entry whose id runs already is kept as it runs even if its fields changed. A new
/// replica waits (unreported, as it does not run) while a replica being stopped still holds one of its GPUs.
/// </remarks>
internal sealed class ReplicaSupervisor(IReplicaRuntime runtime, AgentLog log, TimeProvider time)
{
    /// <summary>How long the agent waits for its replicas at exit.</summary>
    /// <value>20 s: within the 30 s that systemd (TimeoutStopSec) and Kubernetes (terminationGracePeriodSeconds) give the agent.</value>
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(20);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Tracked> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tracked> _stopping = new(StringComparer.Ordinal);
    private HashSet<string> _problems = new(StringComparer.Ordinal);

    /// <summary>The replicas that run now, by id: those desired and those still stopping.</summary>
    public IReadOnlyList<ReplicaReport> Report()
    {
        var changes = new List<(string Id, ReplicaStatus Status)>();
        ReplicaReport[] reports;
        lock (_gate)
        {
            reports = _running.Values.Concat(_stopping.Values)
                .OrderBy(t => t.Replica.Spec.ReplicaId, StringComparer.Ordinal)
                .Select(t =>
                {
                    var status = t.Replica.Status;
                    if (status.State != t.Reported)
                    {
                        changes.Add((t.Replica.Spec.ReplicaId, status));
                        t.Reported = status.State;
                    }

                    return new ReplicaReport(t.Replica.Spec.ReplicaId, status.State);
                })
                .ToArray();
        }

        foreach (var (id, status) in changes)
        {
            if (status.State == ReplicaState.Failed)
            {
                log.Error($"replica {id} failed: {status.Failure}");
            }
            else
            {
                log.Info($"replica {id} {status.State.ToString().ToLowerInvariant()}");
            }
        }

        return reports;
    }

    /// <summary>Starts and stops replicas so that the node runs <paramref name="desired"/>; returns at once.</summary>
    /// <param name="desired">The reply's list; <see langword="null"/> (a reply without one) changes nothing.</param>
    public void Reconcile(IReadOnlyList<DesiredReplica?>? desired)
    {
        if (desired is null)
        {
            return;
        }

        var wanted = ReadDesired(desired);
        var leaving = new List<Tracked>();
        lock (_gate)
        {
            leaving.AddRange(_running.Values.Where(t => !wanted.ContainsKey(t.Replica.Spec.ReplicaId)));
            foreach (var tracked in leaving)
            {
                _running.Remove(tracked.Replica.Spec.ReplicaId);
                _stopping[tracked.Replica.Spec.ReplicaId] = tracked;
            }
        }

        // Stops first: a replica that stops at once (simulated) frees its GPUs for a new one in this same pass.
        foreach (var tracked in leaving)
        {
            log.Info($"stopping replica {tracked.Replica.Spec.ReplicaId}: no longer desired");
            tracked.Stopped = StopInBackgroundAsync(tracked);
        }

        lock (_gate)
        {
            foreach (var spec in wanted.Values)
            {
                if (_running.TryGetValue(spec.ReplicaId, out var current))
                {
                    if (!current.Replica.Spec.Equals(spec) && !current.ChangeLogged)
                    {
                        log.Warn($"replica {spec.ReplicaId} is desired with {spec.Describe()}, but runs with {current.Replica.Spec.Describe()}; keeping it as it runs");
                        current.ChangeLogged = true;
                    }
                }
                else if (_stopping.ContainsKey(spec.ReplicaId))
                {
                    // Started again by a later heartbeat, once its processes are gone.
                    log.Info($"replica {spec.ReplicaId} is desired again but still stopping; it starts once stopped");
                }
                else if (_stopping.Values.FirstOrDefault(t => t.Replica.Spec.GpuIndices.Intersect(spec.GpuIndices).Any()) is { } holder)
                {
                    // An engine sizes itself to the GPU memory it finds free: started next to one that is still
                    // shutting down, it would fail. A later heartbeat starts it, once the GPUs are let go.
                    log.Info($"replica {spec.ReplicaId} waits for replica {holder.Replica.Spec.ReplicaId} to stop and free GPUs {holder.Replica.Spec.GpuList}");
                }
                else
                {
                    log.Info($"starting replica {spec.ReplicaId}: {spec.Describe()}");
                    _running[spec.ReplicaId] = new Tracked(runtime.Start(spec));
                }
            }
        }
    }

    /// <summary>Stops every replica, for the agent's exit; waits for them up to <paramref name="timeout"/>.</summary>
    public async Task StopAllAsync(TimeSpan timeout)
    {
        List<Tracked> leaving;
        lock (_gate)
        {
            leaving = [.. _running.Values];
            foreach (var tracked in leaving)
            {
                _stopping[tracked.Replica.Spec.ReplicaId] = tracked;
            }

            _running.Clear();
            if (_stopping.Count == 0)
            {
                return;
            }

            log.Info($"stopping {_stopping.Count} replica(s) before exit");
        }

        foreach (var tracked in leaving)
        {
            tracked.Stopped = StopInBackgroundAsync(tracked);
        }

        Task[] pending;
        lock (_gate)
        {
            pending = [.. _stopping.Values.Select(t => t.Stopped)];
        }

        try
        {
            await Task.WhenAll(pending).WaitAsync(timeout, time);
        }
        catch (TimeoutException)
        {
            string left;
            lock (_gate)
            {
                left = string.Join(", ", _stopping.Keys.Order(StringComparer.Ordinal));
            }

            log.Error($"replicas still stopping after {timeout.TotalSeconds:0.###} s, exiting anyway: {left}");
        }
    }

    private Dictionary<string, ReplicaSpec> ReadDesired(IReadOnlyList<DesiredReplica?> desired)
    {
        var specs = new Dictionary<string, ReplicaSpec>(StringComparer.Ordinal);
        var problems = new List<string>();
        for (var i = 0; i < desired.Count; i++)
        {
            if (!ReplicaSpec.TryCreate(desired[i], out var spec, out var problem))
            {
                problems.Add($"desired[{i}] ignored: {problem}");
            }
            else if (!specs.TryAdd(spec.ReplicaId, spec))
            {
                problems.Add($"desired[{i}] ignored: replica '{spec.ReplicaId}' is listed twice");
            }
        }

        // The server repeats its list every few seconds: say what is wrong with it once, not in every heartbeat.
        foreach (var problem in problems.Where(p => !_problems.Contains(p)))
        {
            log.Error($"heartbeat reply: {problem}");
        }

        _problems = new HashSet<string>(problems, StringComparer.Ordinal);
        return specs;
    }

    private async Task StopInBackgroundAsync(Tracked tracked)
    {
        var id = tracked.Replica.Spec.ReplicaId;
        try
        {
            await tracked.Replica.StopAsync();
        }
        catch (Exception e)
        {
            // A runtime must not throw here; should one, the replica still leaves the reports rather than stay in them forever.
            log.Error($"replica {id}: stopping failed: {e.Message}");
        }

        lock (_gate)
        {
            if (_stopping.TryGetValue(id, out var current) && ReferenceEquals(current, tracked))
            {
                _stopping.Remove(id);
            }
        }

        log.Info($"replica {id} stopped");
    }

    /// <summary>A replica, what the last report said of it, and its stop once asked.</summary>
    private sealed class Tracked(IReplica replica)
    {
        public IReplica Replica { get; } = replica;

        public ReplicaState Reported { get; set; } = ReplicaState.Starting;

        public bool ChangeLogged { get; set; }

        public Task Stopped { get; set; } = Task.CompletedTask;
    }
}
