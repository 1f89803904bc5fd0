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
/// replica waits (unreported, as it does not run) while a replica being stopped, or falling asleep, still holds one of
/// its GPUs.
/// <para>
/// With a <see cref="SleepPolicy"/>, a replica that was ready when it left the list is put to sleep instead of being stopped,
/// if its runtime can and its weights' size is known and fits the budget: batch engines are stopped first to make room, then
/// the least recently slept; a batch engine stops instead of making room among other kinds. A new replica of the same deployment and model on exactly its GPUs wakes it
/// (<see cref="IReplica.Wake"/>) instead of starting an engine; anything else on its GPUs starts beside it.
/// </para>
/// </remarks>
internal sealed class ReplicaSupervisor(IReplicaRuntime runtime, AgentLog log, TimeProvider time, SleepPolicy? sleep = null)
{
    /// <summary>How long the agent waits for its replicas at exit.</summary>
    /// <value>20 s: within the 30 s that systemd (TimeoutStopSec) and Kubernetes (terminationGracePeriodSeconds) give the agent.</value>
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(20);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Tracked> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tracked> _stopping = new(StringComparer.Ordinal);
    // Engines asleep or falling asleep, least recently slept first.
    private readonly List<Sleeper> _sleeping = [];
    private HashSet<string> _problems = new(StringComparer.Ordinal);

    /// <summary>Whether the agent stops its replicas at exit (<see cref="IReplicaRuntime.StopsReplicasOnExit"/>).</summary>
    public bool StopsReplicasOnExit => runtime.StopsReplicasOnExit;

    /// <summary>Whether replicas may sleep here: a budget above 0 and a runtime that can.</summary>
    public bool Sleeps => sleep is { BudgetBytes: > 0 } && runtime.CanSleep;

    /// <summary>Host memory sleeping engines may take, for the heartbeat; null when replicas never sleep here.</summary>
    public long? SleepBudgetBytes => Sleeps ? sleep!.BudgetBytes : null;

    /// <summary>
    /// The engines asleep now and those falling asleep, for the heartbeat; null when replicas never sleep here. One falling
    /// asleep counts already: the scheduler took it as asleep when it released its replica, and a replica that would wake it
    /// waits for its sleep to finish; one whose sleep fails leaves the next report.
    /// </summary>
    public IReadOnlyList<SleepingReport>? Sleeping()
    {
        if (!Sleeps)
        {
            return null;
        }

        lock (_gate)
        {
            return _sleeping
                .Where(s => s.Replica.Status.State != ReplicaState.Failed)
                .Select(s => new SleepingReport(s.Replica.Spec.DeploymentId, s.Replica.Spec.Model, s.Replica.Spec.GpuIndices.Order().ToArray(), s.Bytes, s.Replica.Spec.IsBatch ? true : null))
                .ToArray();
        }
    }

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
        var leaving = new List<(Tracked Tracked, string Why)>();
        var falling = new List<Sleeper>();
        lock (_gate)
        {
            // An engine that died in its sleep is cleaned up like any other.
            foreach (var dead in _sleeping.Where(s => s.Replica.Status.State == ReplicaState.Failed).ToArray())
            {
                leaving.Add((Evict(dead), "its engine died while asleep"));
            }

            foreach (var tracked in _running.Values.Where(t => !wanted.ContainsKey(t.Replica.Spec.ReplicaId)).ToArray())
            {
                _running.Remove(tracked.Replica.Spec.ReplicaId);
                if (SleepsInstead(tracked, leaving) is { } sleeper)
                {
                    falling.Add(sleeper);
                }
                else
                {
                    _stopping[tracked.Replica.Spec.ReplicaId] = tracked;
                    leaving.Add((tracked, "no longer desired"));
                }
            }
        }

        // Stops first: a replica that stops at once (simulated) frees its GPUs for a new one in this same pass.
        foreach (var (tracked, why) in leaving)
        {
            log.Info($"stopping replica {tracked.Replica.Spec.ReplicaId}: {why}");
            tracked.Stopped = StopInBackgroundAsync(tracked);
        }

        foreach (var sleeper in falling)
        {
            log.Info($"putting replica {sleeper.Replica.Spec.ReplicaId} to sleep: no longer desired ({sleeper.Replica.Spec.Describe()}, {sleeper.Bytes} bytes of weights)");
            sleeper.Asleep = SleepInBackgroundAsync(sleeper);
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
                else if (_sleeping.FirstOrDefault(s => s.Wakes(spec)) is { } sleeper)
                {
                    if (!sleeper.IsAsleep)
                    {
                        // Woken once its sleep is done: a later heartbeat does it.
                        log.Info($"replica {spec.ReplicaId} waits for replica {sleeper.Replica.Spec.ReplicaId} to fall asleep, then wakes it");
                        continue;
                    }

                    if (_stopping.Values.FirstOrDefault(t => t.Replica.Spec.GpuIndices.Intersect(spec.GpuIndices).Any()) is { } lodger)
                    {
                        // The shared work preempted to make room: the engine takes its GPU memory back only once that is freed.
                        log.Info($"replica {spec.ReplicaId} waits for replica {lodger.Replica.Spec.ReplicaId} to stop and free GPUs {lodger.Replica.Spec.GpuList}, then wakes replica {sleeper.Replica.Spec.ReplicaId}'s engine");
                        continue;
                    }

                    _sleeping.Remove(sleeper);
                    log.Info($"waking the engine of replica {sleeper.Replica.Spec.ReplicaId} as replica {spec.ReplicaId}: {spec.Describe()}");
                    _running[spec.ReplicaId] = new Tracked(sleeper.Replica.Wake(spec));
                }
                else if (_stopping.Values.FirstOrDefault(t => t.Replica.Spec.GpuIndices.Intersect(spec.GpuIndices).Any()) is { } holder)
                {
                    // An engine sizes itself to the GPU memory it finds free: started next to one that is still
                    // shutting down, it would fail. A later heartbeat starts it, once the GPUs are let go.
                    log.Info($"replica {spec.ReplicaId} waits for replica {holder.Replica.Spec.ReplicaId} to stop and free GPUs {holder.Replica.Spec.GpuList}");
                }
                else if (_sleeping.FirstOrDefault(s => !s.IsAsleep && s.Replica.Spec.GpuIndices.Intersect(spec.GpuIndices).Any()) is { } fallingAsleep)
                {
                    // The same for one falling asleep: its GPU memory is free only once it sleeps. A sleeping engine
                    // keeps almost none, so a new replica starts beside it.
                    log.Info($"replica {spec.ReplicaId} waits for replica {fallingAsleep.Replica.Spec.ReplicaId} to fall asleep and free GPUs {fallingAsleep.Replica.Spec.GpuList}");
                }
                else
                {
                    log.Info($"starting replica {spec.ReplicaId}: {spec.Describe()}");
                    _running[spec.ReplicaId] = new Tracked(runtime.Start(spec));
                }
            }
        }

        runtime.Reconciled();
    }

    /// <summary>
    /// Stops the sleeping engines of <paramref name="deploymentIds"/>, deployments the server says no longer exist: their
    /// engines would never be woken and only hold host memory. Null or empty changes nothing.
    /// </summary>
    public void StopSleeping(IReadOnlyList<string?>? deploymentIds)
    {
        if (deploymentIds is not { Count: > 0 })
        {
            return;
        }

        var gone = deploymentIds.OfType<string>().ToHashSet(StringComparer.Ordinal);
        List<Tracked> leaving;
        lock (_gate)
        {
            leaving = [.. _sleeping.Where(s => gone.Contains(s.Replica.Spec.DeploymentId)).ToArray().Select(Evict)];
        }

        foreach (var tracked in leaving)
        {
            log.Info($"stopping the sleeping engine of replica {tracked.Replica.Spec.ReplicaId}: deployment {tracked.Replica.Spec.DeploymentId} no longer exists");
            tracked.Stopped = StopInBackgroundAsync(tracked);
        }
    }

    /// <summary>Stops every replica and sleeping engine, for the agent's exit; waits for them up to <paramref name="timeout"/>.</summary>
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
            foreach (var sleeper in _sleeping.ToArray())
            {
                leaving.Add(Evict(sleeper));
            }

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

    /// <summary>
    /// Under the lock: a sleeper for <paramref name="tracked"/>, which leaves the list, if it may sleep (a ready dedicated or
    /// serverless replica, a runtime that can sleep, weights of a known size within the budget); the least recently slept engines
    /// that stand in its way are evicted into <paramref name="evicted"/>. Null: stop it.
    /// </summary>
    private Sleeper? SleepsInstead(Tracked tracked, List<(Tracked, string)> evicted)
    {
        var spec = tracked.Replica.Spec;
        if (!Sleeps || !spec.MaySleep || tracked.Replica.Status.State != ReplicaState.Ready
            || sleep!.WeightBytes(spec.Model) is not { } bytes || bytes > sleep.BudgetBytes)
        {
            return null;
        }

        // Room is made by stopping batch engines first (their backlog reloads anywhere), then the least recently slept.
        var stopped = new List<Sleeper>();
        var left = _sleeping.ToList();
        while (left.Count > 0 && (left.Sum(s => s.Bytes) + bytes > sleep.BudgetBytes || left.Count >= SleepPolicy.MaxSleeping))
        {
            var victim = left.FirstOrDefault(s => s.Replica.Spec.IsBatch) ?? left[0];
            if (spec.IsBatch && !victim.Replica.Spec.IsBatch)
            {
                return null;
            }

            left.Remove(victim);
            stopped.Add(victim);
        }

        foreach (var victim in stopped)
        {
            evicted.Add((Evict(victim), $"making room for replica {spec.ReplicaId} to sleep (batch engines go first, then the least recently slept)"));
        }

        var sleeper = new Sleeper(tracked, bytes);
        _sleeping.Add(sleeper);
        return sleeper;
    }

    /// <summary>Under the lock: takes a sleeper out of the sleeping list into the stopping one.</summary>
    private Tracked Evict(Sleeper sleeper)
    {
        _sleeping.Remove(sleeper);
        _stopping[sleeper.Replica.Spec.ReplicaId] = sleeper.Tracked;
        return sleeper.Tracked;
    }

    private async Task SleepInBackgroundAsync(Sleeper sleeper)
    {
        bool asleep;
        try
        {
            asleep = await sleeper.Replica.SleepAsync();
        }
        catch (Exception e)
        {
            // A runtime must not throw here; should one, the engine is stopped rather than kept half asleep.
            log.Error($"replica {sleeper.Replica.Spec.ReplicaId}: sleeping failed: {e.Message}");
            asleep = false;
        }

        Tracked? failed = null;
        lock (_gate)
        {
            // Evicted meanwhile (the budget, or the agent's exit): the stop deals with it.
            if (!_sleeping.Contains(sleeper))
            {
                return;
            }

            if (asleep)
            {
                sleeper.IsAsleep = true;
            }
            else
            {
                failed = Evict(sleeper);
            }
        }

        if (failed is null)
        {
            log.Info($"replica {sleeper.Replica.Spec.ReplicaId} asleep on GPUs {sleeper.Replica.Spec.GpuList}");
            return;
        }

        log.Warn($"stopping replica {failed.Replica.Spec.ReplicaId}: it could not be put to sleep");
        failed.Stopped = StopInBackgroundAsync(failed);
    }

    /// <summary>An engine asleep (or falling asleep) and the host memory its weights take.</summary>
    private sealed class Sleeper(Tracked tracked, long bytes)
    {
        public Tracked Tracked { get; } = tracked;

        public IReplica Replica => Tracked.Replica;

        public long Bytes { get; } = bytes;

        /// <summary>Its sleep is done: it may be woken, and it holds (almost) no GPU memory.</summary>
        public bool IsAsleep { get; set; }

        public Task Asleep { get; set; } = Task.CompletedTask;

        /// <summary>A new replica of the same deployment and model on exactly these GPUs is served by waking it.</summary>
        public bool Wakes(ReplicaSpec spec) =>
            string.Equals(spec.DeploymentId, Replica.Spec.DeploymentId, StringComparison.Ordinal)
            && string.Equals(spec.Model, Replica.Spec.Model, StringComparison.Ordinal)
            && string.Equals(spec.Image, Replica.Spec.Image, StringComparison.Ordinal)
            && spec.GpuIndices.Order().SequenceEqual(Replica.Spec.GpuIndices.Order());
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
