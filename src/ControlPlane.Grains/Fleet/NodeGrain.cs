using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Contracts.Pools;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;
using ControlPlane.Domain.Pools;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grains.Fleet;

/// <summary>
/// One GPU node. Heartbeats land here; the grain stores and tells its pool only what changed. Failure
/// detection runs in the grain itself: a timer that fires at the node's next deadline (at most a heartbeat interval
/// apart) while it is active; the scheduler, which keeps the cluster's record of when each agent was heard
/// (<see cref="NodeLivenessReporter"/>), calls a grain whose agent fell silent (bringing it back on another silo if its
/// silo died) and tells it how long the silence has lasted; and a durable reminder reactivates it should both be lost.
/// </summary>
public sealed partial class NodeGrain(
    [PersistentState("node", "store")] IPersistentState<NodeState> state,
    IOptions<FleetOptions> options,
    NodeLivenessReporter liveness,
    TimeProvider time,
    ILogger<NodeGrain> logger) : Grain, INodeGrain, IRemindable
{
    private const string WatchdogReminder = "node-watchdog";

    private readonly FleetOptions _options = options.Value;
    private readonly HeartbeatPolicy _policy = options.Value.ToPolicy();

    // Live state: never stored. After a move to another silo the grain starts from its activation time, or from the
    // cluster's record of the agent's silence when the scheduler tells it (CheckSilenceAsync).
    private string? _agentSession;
    private long _lastSequence;
    private NodeLiveness _liveness;
    private DateTimeOffset? _lastHeartbeatAt;
    private IReadOnlyList<GpuReading> _readings = [];
    private IGrainTimer? _healthTimer;
    private long _poolHeard = -1;
    private long _schedulerHeard = -1;

    private NodeState S => state.State;

    private bool IsEnrolled => S.Terms is not null;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!IsEnrolled)
        {
            return Task.CompletedTask;
        }

        // The last heartbeat may have been seen by an activation that is gone (its silo died, or it was
        // collected); nothing here knows it. Giving the agent a full detection window from now avoids
        // calling a healthy node dead because of the control plane's own failure; the scheduler's record of
        // when the agent was last heard, if it has one, shortens it (CheckSilenceAsync).
        _liveness = NodeLiveness.Activated(time.GetUtcNow());
        _lastHeartbeatAt = S.LastHeartbeatAt;
        // The first health check also tells the pool this node's capacity again: an update lost to a
        // crash between our write and the pool's is healed within one interval.
        StartHealthTimer();
        return Task.CompletedTask;
    }

    public async Task<EnrollmentResult> EnrollAsync(NodeEnrollment enrollment)
    {
        if (IsEnrolled)
        {
            // A revoked token is not handed out again by a retry: the operator rotates it.
            var sameRequest = enrollment.IdempotencyKey is not null
                && enrollment.IdempotencyKey == S.Terms!.IdempotencyKey
                && SameTerms(S.Terms, enrollment)
                && S.TokenId is not null;
            return sameRequest
                ? new EnrollmentResult(EnrollmentStatus.Enrolled, S.TokenId, S.TokenIssuedAt)
                : new EnrollmentResult(EnrollmentStatus.AlreadyEnrolled, null, null);
        }

        var now = time.GetUtcNow();
        // Listed first: a directory entry without a node is skipped by listings, a node missing from the
        // directory would be invisible. The watchdog reminder is registered meanwhile (two writes of their own, so
        // one waits no longer than the slower); on a node not yet enrolled it does nothing.
        var period = TimeSpan.FromSeconds(_options.WatchdogPeriodSeconds);
        await Task.WhenAll(
            GrainFactory.GetGrain<IFleetDirectoryGrain>(GrainKeys.FleetDirectory).AddNodeAsync(enrollment.NodeId, enrollment.Region),
            this.RegisterOrUpdateReminder(WatchdogReminder, period, period));

        S.Terms = new NodeTerms(
            enrollment.NodeId,
            enrollment.Region,
            enrollment.Provider,
            enrollment.Ownership,
            enrollment.HourlyCostUsd,
            now,
            enrollment.IdempotencyKey);
        S.TokenId = Guid.NewGuid().ToString("N");
        S.TokenIssuedAt = now;
        S.Health = NodeHealth.Enrolled;
        S.Scheduling = NodeScheduling.Schedulable;
        S.CapacityVersion++;
        S.PlacementVersion++;
        await state.WriteOrReloadAsync(this, logger);

        _liveness = NodeLiveness.Activated(now);
        StartHealthTimer();
        await TellPoolAsync();
        LogEnrolled(enrollment.NodeId, enrollment.Region);
        return new EnrollmentResult(EnrollmentStatus.Enrolled, S.TokenId, S.TokenIssuedAt);
    }

    public async Task<EnrollmentResult?> RotateTokenAsync()
    {
        if (!IsEnrolled)
        {
            return null;
        }

        await ReplaceTokenAsync();
        LogTokenRotated(S.Terms!.NodeId);
        return new EnrollmentResult(EnrollmentStatus.Enrolled, S.TokenId, S.TokenIssuedAt);
    }

    public async Task<bool> RevokeTokenAsync()
    {
        if (!IsEnrolled)
        {
            return false;
        }

        if (S.TokenId is not null)
        {
            S.TokenId = null;
            S.TokenIssuedAt = null;
            await state.WriteOrReloadAsync(this, logger);
            LogTokenRevoked(S.Terms!.NodeId);
        }

        return true;
    }

    public async Task<EnrollmentResult> RejoinAsync(string region)
    {
        if (!IsEnrolled || S.TokenId is not null || !string.Equals(S.Terms!.Region, region, StringComparison.Ordinal))
        {
            return new EnrollmentResult(EnrollmentStatus.AlreadyEnrolled, null, null);
        }

        await ReplaceTokenAsync();
        LogTokenRotated(S.Terms.NodeId);
        return new EnrollmentResult(EnrollmentStatus.Enrolled, S.TokenId, S.TokenIssuedAt);
    }

    private async Task ReplaceTokenAsync()
    {
        S.TokenId = Guid.NewGuid().ToString("N");
        // Whole seconds, as the signed token carries them: the token signed later from this state is the one handed out now.
        S.TokenIssuedAt = DateTimeOffset.FromUnixTimeSeconds(time.GetUtcNow().ToUnixTimeSeconds());
        await state.WriteOrReloadAsync(this, logger);
    }

    public async Task<HeartbeatOutcome> HeartbeatAsync(NodeHeartbeat heartbeat)
    {
        if (!IsEnrolled)
        {
            return Outcome(HeartbeatResult.NotEnrolled);
        }

        if (!string.Equals(heartbeat.TokenId, S.TokenId, StringComparison.Ordinal))
        {
            return Outcome(HeartbeatResult.TokenRevoked);
        }

        var verdict = HeartbeatSequence.Judge(_agentSession, _lastSequence, heartbeat.AgentSessionId, heartbeat.Sequence);
        if (verdict == SequenceVerdict.Stale)
        {
            return Outcome(HeartbeatResult.Stale);
        }

        if (verdict == SequenceVerdict.AcceptNewSession && _agentSession is not null)
        {
            LogAgentRestarted(S.Terms!.NodeId, heartbeat.Sequence);
        }

        var now = time.GetUtcNow();
        _agentSession = heartbeat.AgentSessionId;
        _lastSequence = heartbeat.Sequence;
        _liveness = _liveness.HeardAgain(now);
        _lastHeartbeatAt = now;
        liveness.Heard(S.Terms!.NodeId, now);

        // An agent whose nvidia-smi fails keeps heartbeating; with nothing to report it must not wipe
        // the inventory it reported before.
        var keepInventory = heartbeat.Gpus.Count == 0 && heartbeat.InventoryError is not null && S.Gpus.Count > 0;
        if (!keepInventory)
        {
            _readings = heartbeat.Gpus;
        }

        var slots = keepInventory ? S.Gpus : GpuInventory.ToSlots(heartbeat.Gpus).ToList();
        // A node becomes ready with its first inventory; once ready, any heartbeat keeps it alive.
        var health = slots.Count > 0 || S.Health != NodeHealth.Enrolled ? NodeHealth.Ready : NodeHealth.Enrolled;

        var changed = health != S.Health
            || !GpuInventory.SameInventory(slots, S.Gpus)
            || heartbeat.AgentVersion != S.AgentVersion
            || heartbeat.InventoryError != S.InventoryError;
        var replicasChanged = ApplyReplicaReports(heartbeat.Replicas);
        // The scheduler places on warm nodes and pre-stages by the cache's room: a change of either is worth telling.
        var cacheChanged = ApplyCacheReport(heartbeat.ModelCache);
        // It wakes sleeping engines by placing their deployments' replicas on their GPUs.
        var sleepingChanged = ApplySleepingReport(heartbeat.Sleeping, heartbeat.SleepBudgetBytes);
        if (changed)
        {
            var healthChanged = health != S.Health;
            S.Gpus = slots;
            S.Health = health;
            S.AgentVersion = heartbeat.AgentVersion;
            S.InventoryError = heartbeat.InventoryError;
            S.LastHeartbeatAt = now;
            S.CapacityVersion++;
            FitSlotsToInventory();
            S.PlacementVersion++;
            await state.WriteOrReloadAsync(this, logger);
            await TellPoolAsync();
            await TellSchedulerAsync();
            if (healthChanged)
            {
                LogHealthChanged(S.Terms!.NodeId, health);
            }
        }
        else if (replicasChanged || cacheChanged || sleepingChanged)
        {
            S.PlacementVersion++;
            await state.WriteOrReloadAsync(this, logger);
            await TellSchedulerAsync();
        }

        return Outcome(HeartbeatResult.Accepted) with { Desired = S.Replicas.ToArray(), Prefetch = PendingPrefetch() };
    }

    public async Task<NodeClaimResult> ClaimAsync(PlacedReplica replica, string[] victims)
    {
        if (!IsEnrolled)
        {
            return new NodeClaimResult(ClaimStatus.UnknownNode, null, []);
        }

        FitSlotsToInventory();
        var slots = S.Slots!;
        var held = slots.GpusOf(replica.ReplicaId);
        if (held.Length == 0 && !TakesNewWork())
        {
            return new NodeClaimResult(ClaimStatus.NodeUnavailable, Report(), []);
        }

        var outcome = slots.TryClaim(replica.ReplicaId, replica.DeploymentId, replica.Tier, replica.GpuIndices, victims);
        if (outcome.Status != ClaimStatus.Claimed)
        {
            return new NodeClaimResult(outcome.Status, Report(), []);
        }

        S.Slots = outcome.Slots;
        S.Replicas.RemoveAll(r => outcome.Preempted.Any(v => v.ReplicaId == r.ReplicaId));
        S.Replicas.Add(replica with { GpuIndices = outcome.Slots.GpusOf(replica.ReplicaId), State = ReplicaState.Starting });
        S.PlacementVersion++;
        await state.WriteOrReloadAsync(this, logger);
        // The scheduler learns of this claim from the answer itself.
        _schedulerHeard = S.PlacementVersion;
        LogClaimed(S.Terms!.NodeId, replica.ReplicaId, string.Join(',', replica.GpuIndices), replica.Tier, outcome.Preempted.Length);
        return new NodeClaimResult(ClaimStatus.Claimed, Report(), outcome.Preempted);
    }

    public async Task<NodePlacementReport?> ReleaseAsync(string replicaId)
    {
        if (!IsEnrolled)
        {
            return null;
        }

        FitSlotsToInventory();
        if (S.Replicas.RemoveAll(r => r.ReplicaId == replicaId) > 0 || S.Slots!.GpusOf(replicaId).Length > 0)
        {
            S.Slots = S.Slots!.Release(replicaId);
            S.PlacementVersion++;
            await state.WriteOrReloadAsync(this, logger);
            _schedulerHeard = S.PlacementVersion;
        }

        return Report();
    }

    public Task<NodePlacementReport?> GetPlacementAsync() => Task.FromResult(IsEnrolled ? Report() : null);

    public Task<NodeView?> GetAsync() => Task.FromResult(IsEnrolled ? ToView() : null);

    public async Task SetPrefetchAsync(string[] models)
    {
        if (!IsEnrolled || S.Prefetch.SequenceEqual(models, StringComparer.Ordinal))
        {
            return;
        }

        S.Prefetch = [.. models.Take(ModelCache.MaxModels)];
        await state.WriteOrReloadAsync(this, logger);
        LogPrefetchSet(S.Terms!.NodeId, S.Prefetch.Count, string.Join(", ", S.Prefetch));
    }

    public async Task<NodeView?> SetSchedulingAsync(NodeScheduling scheduling)
    {
        if (!IsEnrolled)
        {
            return null;
        }

        if (S.Scheduling != scheduling)
        {
            S.Scheduling = scheduling;
            S.CapacityVersion++;
            S.PlacementVersion++;
            await state.WriteOrReloadAsync(this, logger);
            await TellPoolAsync();
            await TellSchedulerAsync();
            LogSchedulingChanged(S.Terms!.NodeId, scheduling);
        }

        return ToView();
    }

    public Task CheckHealthAsync() => EvaluateHealthAsync();

    public Task CheckSilenceAsync(TimeSpan silence, bool grainLost)
    {
        _liveness = _liveness.WithRecord(time.GetUtcNow() - silence, grainLost);
        return EvaluateHealthAsync();
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) =>
        reminderName == WatchdogReminder ? EvaluateHealthAsync() : Task.CompletedTask;

    private async Task EvaluateHealthAsync()
    {
        if (!IsEnrolled)
        {
            return;
        }

        var now = time.GetUtcNow();
        var health = _policy.Evaluate(S.Health, _liveness, now);
        ScheduleNextCheck(health, now);
        if (health == S.Health)
        {
            if (_poolHeard < S.CapacityVersion)
            {
                await TellPoolAsync();
            }

            if (_schedulerHeard < S.PlacementVersion)
            {
                await TellSchedulerAsync();
            }

            return;
        }

        S.Health = health;
        S.CapacityVersion++;
        S.PlacementVersion++;
        var lost = 0;
        if (health == NodeHealth.Down && S.Slots is { } slots)
        {
            // A down node's replicas are gone: the scheduler re-places them at once, and when the node comes
            // back its agent is told to run nothing (it stops whatever it still runs).
            lost = S.Replicas.Count;
            S.Slots = slots.ReleaseAll();
            S.Replicas.Clear();
        }

        if (health == NodeHealth.Down)
        {
            // Nothing is woken on a node that may have lost its engines; should they still sleep, the agent reports them again.
            S.Sleeping.Clear();
        }

        await state.WriteOrReloadAsync(this, logger);
        await TellPoolAsync();
        await TellSchedulerAsync();
        LogHealthChanged(S.Terms!.NodeId, health);
        if (lost > 0)
        {
            LogReplicasLost(S.Terms!.NodeId, lost, health);
        }
    }

    private void StartHealthTimer()
    {
        _healthTimer ??= this.RegisterGrainTimer(
            EvaluateHealthAsync,
            new GrainTimerCreationOptions(_policy.Interval, _policy.Interval) { KeepAlive = true });
    }

    /// <summary>
    /// Sets the health timer to fire at the node's next deadline, so that it turns suspect and down on time rather
    /// than up to an interval late; at least once an interval, which also retries telling the pool and the scheduler.
    /// </summary>
    private void ScheduleNextCheck(NodeHealth health, DateTimeOffset now)
    {
        if (_healthTimer is null)
        {
            return;
        }

        var due = _policy.NextChange(health, _liveness) is { } next && next - now < _policy.Interval ? next - now : _policy.Interval;
        _healthTimer.Change(due < TimeSpan.Zero ? TimeSpan.Zero : due, _policy.Interval);
    }

    /// <summary>
    /// Tells the pool the node's capacity. The pool may be unreachable for a while (its silo died and the
    /// cluster has not noticed yet): then the node's own state is already written, and the health timer
    /// tells the pool again until it has heard the current version.
    /// </summary>
    private async Task TellPoolAsync()
    {
        try
        {
            await PoolUpdate();
            _poolHeard = S.CapacityVersion;
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            LogPoolUnreachable(S.Terms!.NodeId, e.Message);
        }
    }

    /// <summary>
    /// Tells the scheduler what changed, like <see cref="TellPoolAsync"/>: if it cannot be reached, the health
    /// timer tells it again until it has heard the current version.
    /// </summary>
    private async Task TellSchedulerAsync()
    {
        try
        {
            var report = Report();
            await GrainFactory.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).NodeChangedAsync(report);
            _schedulerHeard = Math.Max(_schedulerHeard, report.Version);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            LogSchedulerUnreachable(S.Terms!.NodeId, e.Message);
        }
    }

    /// <summary>
    /// Takes the agent's word for the state of each replica the node holds. A replica the agent does not list
    /// (it restarted, or has not started it yet) is starting again; a report without a replica list changes nothing.
    /// </summary>
    private bool ApplyReplicaReports(IReadOnlyList<ReplicaReport>? reports)
    {
        if (reports is null || S.Replicas.Count == 0)
        {
            return false;
        }

        var changed = false;
        for (var i = 0; i < S.Replicas.Count; i++)
        {
            var replica = S.Replicas[i];
            var reported = reports.FirstOrDefault(r => string.Equals(r.ReplicaId, replica.ReplicaId, StringComparison.Ordinal))?.State ?? ReplicaState.Starting;
            if (reported != replica.State)
            {
                S.Replicas[i] = replica with { State = reported };
                changed = true;
            }
        }

        return changed;
    }

    /// <summary>
    /// Takes the agent's word for its model cache: the warm models, the free room (stored only when it moved by a
    /// step, see <see cref="ModelCache.FreeBytesChanged"/>) and failed prefetches. An agent without a cache (no
    /// report) holds nothing warm. True when something the scheduler uses changed.
    /// </summary>
    private bool ApplyCacheReport(ModelCacheReport? report)
    {
        var warm = report?.Models ?? [];
        var failures = report?.PrefetchFailures ?? [];
        long? free = report?.FreeBytes;
        var changed = !ModelCache.SameModels(warm, S.WarmModels)
            || ModelCache.FreeBytesChanged(S.CacheFreeBytes, free)
            || !ModelCache.SameFailures(failures, S.PrefetchFailures);
        if (!changed)
        {
            return false;
        }

        var newlyWarm = warm.Where(m => !S.WarmModels.Any(w => w.Model == m.Model)).Select(m => m.Model).ToArray();
        S.WarmModels = [.. warm];
        S.CacheFreeBytes = free;
        S.PrefetchFailures = [.. failures];
        if (newlyWarm.Length > 0)
        {
            LogModelsWarm(S.Terms!.NodeId, string.Join(", ", newlyWarm));
        }

        return true;
    }

    /// <summary>
    /// Takes the agent's word for the engines asleep on the node (an agent that reports none holds none) and for the host
    /// memory it gives them. True when either changed: the scheduler places a sleeper's deployment on its GPUs to wake it, and
    /// puts headroom to sleep where the budget holds it.
    /// </summary>
    private bool ApplySleepingReport(IReadOnlyList<SleepingEngine>? report, long? budget)
    {
        var budgetChanged = budget != S.SleepBudgetBytes;
        S.SleepBudgetBytes = budget;
        var sleeping = report ?? [];
        if (SleepingEngine.Same(sleeping.ToArray(), S.Sleeping))
        {
            return budgetChanged;
        }

        var fallen = sleeping.Count(s => !S.Sleeping.Contains(s));
        var woken = S.Sleeping.Count(s => !sleeping.Contains(s));
        S.Sleeping = [.. sleeping];
        LogSleepingChanged(S.Terms!.NodeId, S.Sleeping.Count, fallen, woken);
        return true;
    }

    /// <summary>What the agent should still fetch: the scheduler's list less what is warm already.</summary>
    private string[] PendingPrefetch() =>
        S.Prefetch.Where(m => !S.WarmModels.Any(w => string.Equals(w.Model, m, StringComparison.Ordinal))).ToArray();

    /// <summary>A slot per GPU: when the GPU count changes (a new inventory), the old placements no longer mean anything.</summary>
    private void FitSlotsToInventory()
    {
        if (S.Slots is null || S.Slots.Count != S.Gpus.Count)
        {
            S.Slots = NodeSlots.Empty(S.Gpus.Count);
            S.Replicas.Clear();
        }
    }

    /// <summary>Ready, neither cordoned nor draining, GPUs known and all of them healthy: a node with a failing GPU waits for repair.</summary>
    private bool TakesNewWork() => TakesNewWork(Summarise());

    private bool TakesNewWork(InventorySummary summary) =>
        PlacementNode.IsSchedulable(S.Health, S.Scheduling)
            && summary.Sku is not null
            && summary.GpuCount > 0
            && summary.HealthyGpuCount == summary.GpuCount;

    private NodePlacementReport Report()
    {
        FitSlotsToInventory();
        var terms = S.Terms!;
        var summary = Summarise();
        var node = new PlacementNode(
            terms.NodeId,
            terms.Region,
            summary.Sku ?? "unknown",
            summary.GpuMemoryMiB,
            terms.HourlyCostUsd,
            terms.Ownership,
            TakesNewWork(summary),
            S.Slots!,
            S.WarmModels.ToArray(),
            S.CacheFreeBytes,
            S.Sleeping.ToArray(),
            S.SleepBudgetBytes);
        return new NodePlacementReport(node, S.Health, S.Scheduling, S.Replicas.ToArray(), S.PlacementVersion, S.Prefetch.ToArray(), S.PrefetchFailures.ToArray());
    }

    private Task PoolUpdate() => GrainFactory.GetGrain<IPoolGrain>(GrainKeys.Pool(S.Terms!.Region)).UpdateNodeAsync(Capacity());

    public Task<NodeCapacity?> GetCapacityAsync() => Task.FromResult(IsEnrolled ? Capacity() : null);

    /// <summary>What the pool holds of this node (an enrolled one).</summary>
    private NodeCapacity Capacity()
    {
        var summary = Summarise();
        var terms = S.Terms!;
        return new NodeCapacity(
            terms.NodeId,
            terms.Region,
            NodeStatuses.Combine(S.Health, S.Scheduling),
            summary.Sku,
            summary.GpuCount,
            summary.HealthyGpuCount,
            S.CapacityVersion);
    }

    /// <summary>
    /// The stored inventory; while the agent cannot read its GPUs (an inventory error) none of them is
    /// vouched for, so none counts as healthy.
    /// </summary>
    private InventorySummary Summarise()
    {
        var summary = GpuInventory.Summarise(S.Gpus);
        return S.InventoryError is null ? summary : summary with { HealthyGpuCount = 0 };
    }

    private HeartbeatOutcome Outcome(HeartbeatResult result) => new(result, _options.HeartbeatIntervalSeconds);

    private NodeView ToView()
    {
        var terms = S.Terms!;
        var summary = Summarise();
        var readings = _readings.ToDictionary(r => r.Uuid, StringComparer.Ordinal);
        var gpus = S.Gpus
            .Select(slot =>
            {
                readings.TryGetValue(slot.Uuid, out var r);
                return new GpuView(
                    slot.Index, slot.Uuid, slot.Name, slot.Sku, slot.MemoryTotalMiB,
                    r?.MemoryUsedMiB, r?.UtilizationPercent, r?.TemperatureC, r?.PowerWatts, r?.EccUncorrected,
                    slot.Healthy);
            })
            .ToArray();

        return new NodeView(
            terms.NodeId,
            terms.Region,
            terms.Provider,
            terms.Ownership,
            terms.HourlyCostUsd,
            NodeStatuses.Combine(S.Health, S.Scheduling),
            S.Health,
            S.Scheduling,
            summary.Sku,
            summary.GpuCount,
            summary.GpuMemoryMiB,
            summary.HealthyGpuCount,
            terms.EnrolledAt,
            _lastHeartbeatAt ?? S.LastHeartbeatAt,
            S.AgentVersion,
            S.InventoryError,
            gpus,
            S.WarmModels.OrderBy(m => m.Model, StringComparer.Ordinal).ToArray(),
            S.CacheFreeBytes,
            PendingPrefetch(),
            S.PrefetchFailures.ToArray(),
            S.Sleeping.ToArray(),
            S.SleepBudgetBytes);
    }

    private static bool SameTerms(NodeTerms terms, NodeEnrollment enrollment) =>
        terms.Region == enrollment.Region
        && terms.Provider == enrollment.Provider
        && terms.Ownership == enrollment.Ownership
        && terms.HourlyCostUsd == enrollment.HourlyCostUsd;
}
