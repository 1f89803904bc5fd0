using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Grains.Fleet;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace ControlPlane.Grains.Deployments;

/// <summary>
/// Places replicas, one decision at a time, for the whole fleet. Its model (<see cref="CapacityScheduler"/>) follows
/// the node grains' change reports; each decision is applied to the model, then sent to the node grain that owns the
/// GPUs, which accepts or refuses it (a refusal puts the node's real state back in the model and another pass runs).
/// <para>
/// Reentrant so that a node reporting a change while the scheduler waits on a claim to another node is never
/// blocked (nor deadlocked, should that node be waiting on the scheduler): every method changes the model without
/// awaiting, and a single reconcile loop runs the decisions. Reports from a node with a claim or release in flight
/// are held back until its answer arrives, so an older report cannot undo a decision the node has already taken.
/// </para>
/// <para>
/// The deployments it stores change only through its group commit, together with the model, and a failed write puts
/// both back as stored: an admission, a desired count or a removal is believed only once written. Any failed call to
/// another grain is an unknown outcome (that node is read again before the next decision), and the loops nobody awaits
/// log what they throw.
/// It also keeps the cluster's record of when each node's agent was last heard (<see cref="HeardNodes"/>, reported by
/// every silo once a second): routing leaves out the replicas of a node not heard within the suspect window (checked
/// every second and pushed to the deployments' read models, see SchedulerGrain.Routes.cs), whatever its grain last
/// reported, and a node grain whose agent fell silent is asked to check its health with
/// the silence the record saw, which brings it back on a surviving silo if its own died.
/// </para>
/// </summary>
[Reentrant]
public sealed partial class SchedulerGrain(
    [PersistentState("scheduler", "store")] IPersistentState<SchedulerState> state,
    [PersistentState("scheduler-heard", "store")] IPersistentState<SchedulerHeardState> heardState,
    IOptions<CapacityOptions> options,
    IOptions<FleetOptions> fleet,
    IClusterMembershipService membership,
    TimeProvider time,
    ILogger<SchedulerGrain> logger) : Grain, ISchedulerGrain, IRemindable
{
    private const string WatchReminder = "scheduler-watch";
    private const int MaxPassesPerRun = 16;

    // How long after it starts an activation reads its predecessor's record of nodes heard again.
    private static readonly TimeSpan HandOverWait = TimeSpan.FromSeconds(3);

    // How late the record of nodes heard may learn of a heartbeat: two of the silos' reports (on a busy silo, one may
    // come late).
    private static readonly TimeSpan HeardLag = 2 * NodeLivenessReporter.Period;

    private readonly CapacityScheduler _model = new();
    private readonly Dictionary<string, decimal> _demand = new(StringComparer.Ordinal);
    private readonly ClaimsInFlight<NodePlacementReport> _calls = new(r => r.Version);
    private GroupCommit<DeploymentChange, EntryChange>? _commit;
    private Task _loop = Task.CompletedTask;
    private Task _rebuilt = Task.CompletedTask;
    private bool _dirty;

    // When each node's agent was last heard, cluster-wide; the silos that reported (those that sent all they know since
    // this activation began); the nodes with replicas that were silent at the last sweep.
    private HeardNodes _heard = new(fleet.Value.ToPolicy(), DateTimeOffset.MinValue, HeardLag);
    private readonly Dictionary<string, SiloAddress> _silos = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reportedAll = new(StringComparer.Ordinal);
    private HashSet<string> _silent = new(StringComparer.Ordinal);

    // Counted from what the nodes did, not from the model's plans: a claim a node refuses preempts nothing.
    private long _preemptions;

    // Each node's prefetch list as the node holds it (from its reports and from the lists set since), and the
    // failures it reported last, so that only new ones count.
    private readonly Dictionary<string, string[]> _prefetch = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PrefetchFailure[]> _prefetchFailures = new(StringComparer.Ordinal);
    private long _warmLoads;
    private long _coldLoads;
    private long _prefetchesRequested;
    private long _prefetchesCompleted;
    private long _prefetchesFailed;

    // Claims that woke an engine asleep on the node instead of loading one; engines asleep per node (region, count).
    private long _wakes;
    private readonly Dictionary<string, (string Region, int Engines)> _sleeping = new(StringComparer.Ordinal);

    // What each deployment keeps of its desired replicas (fewer while a scale-down is pending); the scaling demand each
    // serverless deployment was last given, with the demand it was computed for; the loop that pushes changed ones.
    private readonly Dictionary<string, int> _keeps = new(StringComparer.Ordinal);

    // What each dedicated deployment's running replicas keep spare for its own quick rises (not counted on by serverless).
    private readonly Dictionary<string, decimal> _keptForRises = new(StringComparer.Ordinal);

    // Each model's quick rise, learned from its deployments' summed demand (not stored: learnt again after a restart).
    private ModelRises? _modelRises;
    private readonly Dictionary<string, (decimal Scaling, decimal ForDemand)> _scalingSent = new(StringComparer.Ordinal);
    private Task _scalingLoop = Task.CompletedTask;
    private bool _scalingDirty;

    // Replicas claimed and not ready yet: when and where they were placed, to learn their deployment's load time.
    private readonly Dictionary<string, (string NodeId, string DeploymentId, DateTimeOffset At)> _loading = new(StringComparer.Ordinal);

    /// <summary>Writes of the deployments, in groups; the model changes with the stored state (see <see cref="Apply"/>).</summary>
    private GroupCommit<DeploymentChange, EntryChange> Commit => _commit ??= new(
        Apply, () => state.WriteStateAsync(), e => state.ReloadAsync(this, logger, e, Reloaded));

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var deployment in state.State.Deployments.Values)
        {
            _model.SetDeployment(deployment);
        }

        var period = TimeSpan.FromSeconds(options.Value.ReconcileSeconds);
        this.RegisterGrainTimer(() => { Kick(); return Task.CompletedTask; }, new GrainTimerCreationOptions(period, period) { KeepAlive = true });
        // The record carries on from the last activation's, if it handed it over; every silo then sends all it knows.
        // Orleans may start this activation while the last one is still handing over (when the silo holding the
        // grain's directory entry died, nothing stops a new activation elsewhere): read the hand-over again shortly.
        var policy = fleet.Value.ToPolicy();
        _heard = new HeardNodes(policy, HeardNodes.StartOf(policy, time.GetUtcNow()), HeardLag, heardState.State.Nodes);
        this.RegisterGrainTimer(TakeLateHandOverAsync, new GrainTimerCreationOptions(HandOverWait, Timeout.InfiniteTimeSpan));
        this.RegisterGrainTimer(
            () => { SweepSilentNodes(); return Task.CompletedTask; },
            new GrainTimerCreationOptions(NodeLivenessReporter.Period, NodeLivenessReporter.Period) { KeepAlive = true });
        // A reminder brings the scheduler back after its silo dies even if nothing calls it.
        await this.RegisterOrUpdateReminder(WatchReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        StartSloMeasurement();

        // Read back where replicas are, but not inside the activation: node grains call the scheduler, and a node
        // waiting on this activation could not answer it (each would wait on the other until a call timed out).
        _rebuilt = RebuildAsync();
        Kick();
    }

    /// <summary>Reads every node grain's slots into the model; the reconcile loop decides nothing before this is done.</summary>
    private async Task RebuildAsync()
    {
        var nodeIds = await GrainFactory.GetGrain<IFleetDirectoryGrain>(GrainKeys.FleetDirectory).ListNodesAsync(null);
        foreach (var nodeId in nodeIds)
        {
            _calls.MarkStale(nodeId);
        }

        await RefreshStaleAsync();
        LogActivated(_model.Snapshot.NodeCount, _model.Deployments.Count, _model.ReplicaCount);
        _ = AskDemandAgainAsync();
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Kick();
        return Task.CompletedTask;
    }

    public async Task<AdmissionResult> AdmitAsync(ScheduledDeployment deployment)
    {
        // Admission weighs the whole fleet: a model still being read back would refuse what fits.
        await RebuiltAsync();
        var (before, after) = await Commit.SubmitAsync(new Admit(deployment));
        if (after is not null && after.Generation == deployment.Generation && after.Spec.Equals(deployment.Spec))
        {
            Kick();
            return AdmissionResult.Admitted;
        }

        return before is not null && before.Generation > deployment.Generation ? AdmissionResult.Stale : AdmissionResult.Refused;
    }

    public async Task<decimal?> SetDesiredAsync(string deploymentId, int desired, int keeps, decimal demandTokensPerSecond, int? awake = null, decimal keptForRises = 0, DeploymentHeadroom? headroom = null)
    {
        // Not stored: each deployment tells it again with its next demand signal, and meanwhile its own awake count holds.
        _model.SetHeadroom(deploymentId, headroom);
        if (_model.Deployments.TryGetValue(deploymentId, out var spec) && spec.Spec.Class is DeploymentClass.Dedicated or DeploymentClass.Serverless)
        {
            // The rise is learned per pool: the model within the regions its deployments may run in (ModelHeadroom).
            var model = spec.Spec.Model;
            var pools = ModelHeadroom.PoolDemands(_model.Deployments.Values
                .Where(d => d.Spec.Class is DeploymentClass.Dedicated or DeploymentClass.Serverless && string.Equals(d.Spec.Model, model, StringComparison.Ordinal))
                .Select(d => (d.Spec, d.Spec.DeploymentId == deploymentId ? demandTokensPerSecond : _demand.GetValueOrDefault(d.Spec.DeploymentId))));
            _modelRises ??= new ModelRises(TimeSpan.FromSeconds(options.Value.ScaleDownDelaySeconds));
            foreach (var (pool, sum) in pools)
            {
                _model.SetModelRise(pool, _modelRises.Observe(pool, sum, time.GetUtcNow()));
            }
        }

        if (_demand.GetValueOrDefault(deploymentId) != demandTokensPerSecond || _keeps.GetValueOrDefault(deploymentId, -1) != keeps
            || _keptForRises.GetValueOrDefault(deploymentId) != keptForRises)
        {
            _demand[deploymentId] = demandTokensPerSecond;
            _keeps[deploymentId] = keeps;
            _keptForRises[deploymentId] = keptForRises;
            ScalingChanged();
        }

        HeardDemand(deploymentId);
        if (!_model.Deployments.TryGetValue(deploymentId, out var known))
        {
            return null;
        }

        // The deployment scales on this answer: it is what it was given, and the push loop compares with it.
        var scaling = known.Spec.Class == DeploymentClass.Serverless ? ScalingDemands().GetValueOrDefault(deploymentId, demandTokensPerSecond) : (decimal?)null;
        if (scaling is { } figure)
        {
            _scalingSent[deploymentId] = (figure, demandTokensPerSecond);
        }

        // Submitted even when the model already has it: the model may hold a change whose write is still in flight.
        var (before, after) = await Commit.SubmitAsync(new Desire(deploymentId, desired, awake));
        if (before != after)
        {
            Kick();
        }

        return scaling;
    }

    public async Task<bool> RemoveAsync(string deploymentId)
    {
        var (before, _) = await Commit.SubmitAsync(new Remove(deploymentId));
        _demand.Remove(deploymentId);
        _keeps.Remove(deploymentId);
        _keptForRises.Remove(deploymentId);
        _scalingSent.Remove(deploymentId);
        ForgetSlo(deploymentId);
        if (before is null)
        {
            return false;
        }

        // Its read model hears it is gone, even if it was never sent routes (it may have asked for them).
        _routesGone.Add(deploymentId);

        Kick();
        return true;
    }

    /// <summary>
    /// Applies one change to the stored deployments and the model together (under the group commit's writer, so each
    /// sees the changes before it): the deployment's entry before and after it.
    /// </summary>
    private (EntryChange, bool Changed) Apply(DeploymentChange change)
    {
        var before = _model.Deployments.GetValueOrDefault(change.DeploymentId);
        var after = change switch
        {
            Admit admit => Admitted(before, admit.Deployment),
            Desire desire => before is null || (before.Desired, before.Awake) == (desire.Desired, desire.Awake) ? before : before with { Desired = desire.Desired, Awake = desire.Awake },
            Remove => null,
            _ => throw new ArgumentOutOfRangeException(nameof(change), change, "Unknown change."),
        };

        if (after == before)
        {
            return (new EntryChange(before, after), false);
        }

        if (after is null)
        {
            _model.RemoveDeployment(change.DeploymentId);
            state.State.Deployments.Remove(change.DeploymentId);
        }
        else
        {
            _model.SetDeployment(after);
            state.State.Deployments[change.DeploymentId] = after;
        }

        return (new EntryChange(before, after), true);
    }

    /// <summary>
    /// The entry after an admission: the known one when the offer is stale or refused (or the same again), else the offer
    /// (a migration keeps the desired count the deployment already has; new limits of the same generation bring the desired
    /// count the deployment clamped to them, so no pass places or keeps replicas beyond the new maximum meanwhile).
    /// </summary>
    private ScheduledDeployment? Admitted(ScheduledDeployment? known, ScheduledDeployment offer)
    {
        if (known is not null && (known.Generation > offer.Generation || (known.Generation == offer.Generation && known.Spec.Equals(offer.Spec))))
        {
            return known;
        }

        // New limits of the same generation that reserve no more ask nothing new of the fleet.
        var limitsOnly = known is not null && known.Generation == offer.Generation && !DeploymentLimits.NeedsAdmission(known.Spec, offer.Spec);
        if (!limitsOnly && !_model.CanAdmit(offer.Spec))
        {
            LogRefused(offer.Spec.DeploymentId, offer.Spec.ReservedReplicas, offer.Spec.GpusPerReplica);
            return known;
        }

        return known is null || known.Generation == offer.Generation ? offer : offer with { Desired = known.Desired, Awake = known.Awake };
    }

    /// <summary>After a failed write: the model's deployments are put back to what storage holds.</summary>
    private void Reloaded()
    {
        foreach (var id in _model.Deployments.Keys.Where(id => !state.State.Deployments.ContainsKey(id)).ToArray())
        {
            _model.RemoveDeployment(id);
        }

        foreach (var deployment in state.State.Deployments.Values.Where(d => _model.Deployments.GetValueOrDefault(d.Spec.DeploymentId) != d))
        {
            _model.SetDeployment(deployment);
        }

        Kick();
    }

    public Task NodeChangedAsync(NodePlacementReport report)
    {
        if (_calls.Reported(report.Node.NodeId, report) is { } now)
        {
            Apply(now);
        }

        Kick();
        return Task.CompletedTask;
    }

    public Task<bool> NodesHeardAsync(SiloAddress silo, NodeHeard[] heard, bool all)
    {
        var now = time.GetUtcNow();
        var reporter = silo.ToParsableString();
        _silos[reporter] = silo;
        foreach (var node in heard)
        {
            _heard.Heard(node.NodeId, now - node.Ago, reporter);
        }

        if (all)
        {
            _reportedAll.Add(reporter);
        }

        return Task.FromResult(!_reportedAll.Contains(reporter));
    }

    /// <summary>Hands the record of nodes heard to the next activation (a silo that dies hands nothing over).</summary>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        try
        {
            // Read first: a newer activation may have written since this one read it (the version must match).
            await heardState.ReadStateAsync();
            var known = new HeardNodes(fleet.Value.ToPolicy(), DateTimeOffset.MinValue, HeardLag, heardState.State.Nodes);
            known.Merge(_heard.Known);
            heardState.State.Nodes = new Dictionary<string, HeardNode>(known.Known, StringComparer.Ordinal);
            await heardState.WriteStateAsync();
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            LogHeardNotHandedOver(e.Message);
        }
    }

    /// <summary>Takes a hand-over that the last activation wrote after this one started.</summary>
    private async Task TakeLateHandOverAsync()
    {
        try
        {
            await heardState.ReadStateAsync();
            _heard.Merge(heardState.State.Nodes);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            LogHeardNotHandedOver(e.Message);
        }
    }

    /// <summary>Whether the silo that reported a node is no longer active: the node's grain died with it.</summary>
    private bool IsGone(string reporter) =>
        !_silos.TryGetValue(reporter, out var silo) || membership.CurrentSnapshot.GetSiloStatus(silo) != SiloStatus.Active;

    /// <summary>
    /// Asks the grains of nodes that fell silent (still ready or suspect in the model) to check their health with the
    /// silence the record saw, every two seconds at most until it reports the node down or is heard again; and, when
    /// the nodes that take traffic changed, lets the scaling figures follow.
    /// </summary>
    private void SweepSilentNodes()
    {
        var now = time.GetUtcNow();
        var candidates = _model.NodeHealths
            .Where(n => n.Health is NodeHealth.Ready or NodeHealth.Suspect)
            .Select(n => n.NodeId)
            .ToArray();
        foreach (var (nodeId, silence, grainLost) in _heard.DueForCheck(candidates, now, IsGone))
        {
            _ = CheckSilenceAsync(nodeId, silence, grainLost);
        }

        // A node falls out of routing with time, when it has not been heard within the suspect window: when the nodes
        // with replicas that are silent change, the scaling figures and the routes (ScalingChanged) follow.
        var silent = candidates.Where(n => !_heard.IsHeard(n, now) && _model.ReplicasOn(n).Count > 0).ToHashSet(StringComparer.Ordinal);
        if (!silent.SetEquals(_silent))
        {
            _silent = silent;
            ScalingChanged();
        }
    }

    private async Task CheckSilenceAsync(string nodeId, TimeSpan silence, bool grainLost)
    {
        try
        {
            await GrainFactory.GetGrain<INodeGrain>(GrainKeys.Node(nodeId)).CheckSilenceAsync(silence, grainLost);
        }
        catch (Exception e)
        {
            // Nobody awaits this call: whatever it throws is logged here. Its silo may not be declared dead yet, or
            // the node failed: the next sweep asks again.
            LogNodeUnreachable(nodeId, e.Message);
        }
    }

    public Task<IReadOnlyList<string>> ListDeploymentIdsAsync() => Task.FromResult<IReadOnlyList<string>>([.. _model.Deployments.Keys]);

    // The answers below wait for the read-back after activation: before it, a known deployment would show no
    // replicas (an empty routing table for the gateway) and the fleet no allocation.
    public async Task<IReadOnlyList<ReplicaView>?> GetReplicasAsync(string deploymentId)
    {
        await RebuiltAsync();
        return _model.Deployments.ContainsKey(deploymentId)
            ? _model.ReplicasOf(deploymentId).Select(ToView).ToArray()
            : null;
    }

    public async Task<IReadOnlyList<ModelDemand>> ListDemandAsync()
    {
        await RebuiltAsync();
        return Demands();
    }

    /// <summary>
    /// Each deployment's demand and routable replicas (how many, and in which regions), with the regions it may be served
    /// in: what the gateway can send traffic to now.
    /// </summary>
    private ModelDemand[] Demands()
    {
        var routable = _model.Replicas()
            .Where(IsRoutable)
            .GroupBy(r => r.Replica.DeploymentId, StringComparer.Ordinal)
            .ToDictionary(
                g => g.Key,
                g => g.GroupBy(RegionOf, StringComparer.Ordinal)
                    .OrderBy(r => r.Key, StringComparer.Ordinal)
                    .Select(r => new RegionReplicas(r.Key, r.Count()))
                    .ToArray(),
                StringComparer.Ordinal);
        return _model.Deployments.Values
            .OrderBy(d => d.Spec.DeploymentId, StringComparer.Ordinal)
            .Select(d => new ModelDemand(
                d.Spec.DeploymentId,
                d.Spec.Model,
                d.Spec.Class,
                _demand.GetValueOrDefault(d.Spec.DeploymentId),
                routable.GetValueOrDefault(d.Spec.DeploymentId)?.Sum(r => r.Replicas) ?? 0,
                d.Spec.TokensPerSecondPerReplica,
                Regions: d.Spec.Regions,
                ReadyInRegions: routable.GetValueOrDefault(d.Spec.DeploymentId) ?? []))
            .ToArray();
    }

    /// <summary>The region of a replica's node (empty if the node is not known, which a routable replica's always is).</summary>
    private string RegionOf(ScheduledReplica replica) => _model.Snapshot.Find(replica.NodeId)?.Region ?? "";

    /// <summary>
    /// Each serverless deployment's scaling demand (<see cref="SlackSharing.ScalingDemand"/>): dedicated deployments
    /// count with the routable replicas they keep, so a replica that a pending scale-down will release is not counted on.
    /// </summary>
    private IReadOnlyDictionary<string, decimal> ScalingDemands() =>
        SlackSharing.ScalingDemand(Demands()
            .Where(d => d.Class != DeploymentClass.Batch)
            .Select(d => d.Class == DeploymentClass.Dedicated
                ? d with { ReadyReplicas = Math.Min(d.ReadyReplicas, Kept(d.DeploymentId)), KeptForRises = _keptForRises.GetValueOrDefault(d.DeploymentId) }
                : d)
            .ToArray());

    private int Kept(string deploymentId) =>
        _keeps.TryGetValue(deploymentId, out var keeps) ? keeps : _model.Deployments.TryGetValue(deploymentId, out var d) ? d.Desired : 0;

    /// <summary>Something a scaling demand depends on changed; one loop at a time pushes the figures that moved.</summary>
    private void ScalingChanged()
    {
        // Routes depend on the same figures (demand, routable replicas).
        RoutesChanged();
        _scalingDirty = true;
        if (_scalingLoop.IsCompleted)
        {
            _scalingLoop = ObservedAsync(PushScalingAsync, "scaling");
        }
    }

    /// <summary>
    /// Tells each serverless deployment whose scaling demand moved its new figure (for the demand it was computed for).
    /// A deployment that does not answer is tried again on the next change or reconcile tick.
    /// </summary>
    private async Task PushScalingAsync()
    {
        try
        {
            await RebuiltAsync();
        }
        catch (Exception)
        {
            // The reconcile loop logs it; the next change or tick tries again.
            return;
        }

        while (_scalingDirty)
        {
            _scalingDirty = false;
            var changed = ScalingDemands()
                .Select(s => (Id: s.Key, Scaling: s.Value, ForDemand: _demand.GetValueOrDefault(s.Key)))
                .Where(s => _scalingSent.TryGetValue(s.Id, out var sent) ? sent != (s.Scaling, s.ForDemand) : s.Scaling != s.ForDemand)
                .ToArray();
            await Task.WhenAll(changed.Select(async s =>
            {
                try
                {
                    await GrainFactory.GetGrain<IDeploymentGrain>(GrainKeys.Deployment(s.Id)).SetScalingDemandAsync(s.Scaling, s.ForDemand);
                    _scalingSent[s.Id] = (s.Scaling, s.ForDemand);
                }
                catch (Exception e)
                {
                    LogDeploymentUnreachable(s.Id, e.Message);
                }
            }));
        }
    }

    public async Task<IReadOnlyList<DeploymentSummary>> ListAsync()
    {
        await RebuiltAsync();
        return Summaries();
    }

    public async Task<SchedulerSummary> GetSummaryAsync()
    {
        await RebuiltAsync();
        var usage = _model.Usage()
            .Select(u => new GpuUsageView(u.Region, u.Sku, u.Reserved, u.Burst, u.Serverless, u.Batch, u.Idle, u.Unavailable))
            .ToArray();
        var summaries = Summaries();
        var replicas = Enum.GetValues<DeploymentClass>()
            .Select(c =>
            {
                var ofClass = summaries.Where(d => d.Spec.Class == c).ToArray();
                return new ReplicaCountView(
                    c, ofClass.Sum(d => d.DesiredReplicas), ofClass.Sum(d => d.PlacedReplicas), ofClass.Sum(d => d.ReadyReplicas));
            })
            .ToArray();
        var sleeping = _sleeping.Values
            .GroupBy(s => s.Region, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new SleepingCountView(g.Key, g.Sum(s => s.Engines)))
            .ToArray();
        return new SchedulerSummary(
            usage, _preemptions, summaries.Sum(d => d.SpilledTokensPerSecond),
            _warmLoads, _coldLoads, _prefetchesRequested, _prefetchesCompleted, _prefetchesFailed, replicas, _wakes, sleeping);
    }

    private IReadOnlyList<DeploymentSummary> Summaries()
    {
        var placed = _model.Replicas()
            .GroupBy(r => r.Replica.DeploymentId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (Placed: g.Count(r => !r.Moving), Ready: g.Count(r => !r.Moving && r.Replica.State == ReplicaState.Ready)), StringComparer.Ordinal);
        return _model.Deployments.Values
            .OrderBy(d => d.Spec.DeploymentId, StringComparer.Ordinal)
            .Select(d =>
            {
                var (count, ready) = placed.GetValueOrDefault(d.Spec.DeploymentId);
                var demand = _demand.GetValueOrDefault(d.Spec.DeploymentId);
                return new DeploymentSummary(d.Spec, d.Desired, count, ready, demand, d.Spec.SpilledDemand(demand, count), d.Awake);
            })
            .ToArray();
    }

    private ReplicaView ToView(ScheduledReplica r) => new(
        r.Replica.ReplicaId,
        r.Replica.DeploymentId,
        r.Replica.Model,
        r.NodeId,
        r.Replica.GpuIndices,
        r.Moving ? "draining" : r.Replica.State.ToString().ToLowerInvariant(),
        r.Replica.Tier,
        r.Replica.Ordinal,
        IsRoutable(r));

    /// <summary>A ready replica on a ready node whose agent was heard within the suspect window, as of now.</summary>
    private bool IsRoutable(ScheduledReplica r) =>
        r.Replica.State == ReplicaState.Ready && r.NodeHealth == NodeHealth.Ready && _heard.IsHeard(r.NodeId, time.GetUtcNow());

    private void Apply(NodePlacementReport report)
    {
        var nodeId = report.Node.NodeId;
        var before = _model.Snapshot.Find(nodeId);
        if (!_model.SetNode(report.Node, report.Health, report.Scheduling, report.Replicas, report.Version))
        {
            return;
        }

        // A model of the node's prefetch list that turned warm there is a prefetch done.
        var asked = _prefetch.GetValueOrDefault(nodeId) ?? [];
        _prefetchesCompleted += asked.Count(m => report.Node.IsWarm(m) && before?.IsWarm(m) != true);
        _prefetch[nodeId] = report.Prefetch ?? [];

        var failures = report.PrefetchFailures ?? [];
        var known = _prefetchFailures.GetValueOrDefault(nodeId) ?? [];
        _prefetchesFailed += failures.Count(f => !known.Any(k => k.Model == f.Model && k.Attempts >= f.Attempts));
        _prefetchFailures[nodeId] = failures;
        _sleeping[nodeId] = (report.Node.Region, report.Node.Sleeping?.Length ?? 0);
        ObserveLoads(nodeId, report.Replicas);
    }

    /// <summary>
    /// Replicas of the node that turned ready since they were claimed: their deployments learn the load time (placed to
    /// ready, as the node's reports show it). Replicas gone before they were ready are forgotten. A lost observation only
    /// costs one sample of the estimate, so it is sent without holding anything up.
    /// </summary>
    private void ObserveLoads(string nodeId, PlacedReplica[] replicas)
    {
        var now = time.GetUtcNow();
        foreach (var (replicaId, loading) in _loading.Where(l => l.Value.NodeId == nodeId).ToArray())
        {
            var replica = Array.Find(replicas, r => r.ReplicaId == replicaId);
            if (replica is not null && replica.State == ReplicaState.Starting)
            {
                continue;
            }

            _loading.Remove(replicaId);
            if (replica?.State == ReplicaState.Ready)
            {
                _ = TellLoadAsync(loading.DeploymentId, replicaId, now - loading.At);
            }
        }
    }

    private async Task TellLoadAsync(string deploymentId, string replicaId, TimeSpan loadTime)
    {
        try
        {
            await GrainFactory.GetGrain<IDeploymentGrain>(GrainKeys.Deployment(deploymentId)).ObserveLoadAsync(replicaId, loadTime);
        }
        catch (Exception e)
        {
            LogDeploymentUnreachable(deploymentId, e.Message);
        }
    }

    /// <summary>Asks for a reconciliation; one loop runs at a time and picks up whatever changed meanwhile.</summary>
    private void Kick()
    {
        // Whatever kicks a reconciliation (replicas turning ready, nodes lost, deployments added) may move slack too.
        ScalingChanged();
        _dirty = true;
        if (_loop.IsCompleted)
        {
            _loop = ObservedAsync(RunAsync, "reconcile");
        }
    }

    /// <summary>
    /// Runs a loop that nobody awaits (the reconcile and the scaling loop): whatever it throws is logged here, where it
    /// would otherwise vanish with the task. The next change or reconcile tick runs the loop again.
    /// </summary>
    private async Task ObservedAsync(Func<Task> loop, string name)
    {
        try
        {
            await loop();
        }
        catch (Exception e)
        {
            LogLoopFailed(name, e);
        }
    }

    /// <summary>The read-back of the fleet after activation, started again if it failed (its failure is then the caller's).</summary>
    private Task RebuiltAsync()
    {
        if (_rebuilt.IsFaulted)
        {
            _rebuilt = RebuildAsync();
        }

        return _rebuilt;
    }

    private async Task RunAsync()
    {
        try
        {
            await RebuiltAsync();
        }
        catch (Exception e)
        {
            // Without the list of nodes nothing can be decided safely; the timer kicks a new attempt.
            LogRebuildFailed(e.Message);
            return;
        }

        for (var pass = 0; _dirty && pass < MaxPassesPerRun; pass++)
        {
            _dirty = false;
            await RefreshStaleAsync();
            var decisions = _model.Decide();
            var acted = decisions.Where(d => d is not UnplacedDecision).ToArray();
            if (acted.Length == 0)
            {
                break;
            }

            // Nodes work in parallel; one node's decisions go in order (a release may free what a claim takes).
            await Task.WhenAll(ClaimsInFlight.ByNode(acted).Select(g => ExecuteAsync(g.NodeId, g.Decisions)));
            // Preempted replicas are deficits now: another pass re-places them where they fit.
            _dirty = true;
        }

        await PrestageAsync();
        ScalingChanged();
    }

    /// <summary>
    /// Sends each node whose prefetch list should change its new list (see <see cref="CapacityScheduler.Prestage"/>);
    /// a node that does not answer is tried again on the next run.
    /// </summary>
    private async Task PrestageAsync()
    {
        var lists = _model.Prestage();
        var changed = lists.Keys
            .Concat(_prefetch.Where(p => p.Value.Length > 0).Select(p => p.Key))
            .Distinct(StringComparer.Ordinal)
            .Where(nodeId => !(lists.GetValueOrDefault(nodeId) ?? []).SequenceEqual(_prefetch.GetValueOrDefault(nodeId) ?? [], StringComparer.Ordinal))
            .ToArray();
        await Task.WhenAll(changed.Select(async nodeId =>
        {
            var wanted = lists.GetValueOrDefault(nodeId) ?? [];
            try
            {
                await GrainFactory.GetGrain<INodeGrain>(GrainKeys.Node(nodeId)).SetPrefetchAsync(wanted);
                var had = _prefetch.GetValueOrDefault(nodeId) ?? [];
                _prefetchesRequested += wanted.Count(m => !had.Contains(m, StringComparer.Ordinal));
                _prefetch[nodeId] = wanted;
                if (wanted.Length > 0)
                {
                    LogPrefetch(nodeId, string.Join(", ", wanted));
                }
            }
            catch (Exception e)
            {
                LogNodeUnreachable(nodeId, e.Message);
            }
        }));
    }

    private async Task ExecuteAsync(string nodeId, SchedulingDecision[] decisions)
    {
        var node = GrainFactory.GetGrain<INodeGrain>(GrainKeys.Node(nodeId));
        _calls.Begin(nodeId);
        try
        {
            foreach (var decision in decisions)
            {
                switch (decision)
                {
                    case ReleaseDecision release:
                        _calls.Answered(nodeId, await node.ReleaseAsync(release.ReplicaId));
                        LogReleased(release.ReplicaId, nodeId, release.Reason);
                        break;

                    case ClaimDecision claim:
                        var warm = _model.Snapshot.Find(nodeId)?.IsWarm(claim.Replica.Model) == true;
                        var result = await node.ClaimAsync(claim.Replica, claim.Claim.Victims);
                        _calls.Answered(nodeId, result.Report);
                        if (result.Succeeded)
                        {
                            // A wake takes seconds, not a load's time: it must not teach the deployment a shorter horizon.
                            if (!claim.Wakes)
                            {
                                _loading[claim.Replica.ReplicaId] = (nodeId, claim.Replica.DeploymentId, time.GetUtcNow());
                            }

                            _preemptions += result.Preempted.Length;
                            if (claim.Wakes)
                            {
                                _wakes++;
                            }
                            else if (warm)
                            {
                                _warmLoads++;
                            }
                            else
                            {
                                _coldLoads++;
                            }
                        }
                        else
                        {
                            LogClaimRefused(claim.Replica.ReplicaId, nodeId, result.Status);
                            _dirty = true;
                        }

                        break;
                }
            }
        }
        catch (Exception e)
        {
            // Unknown outcome: read the node's state before deciding anything more about it.
            LogNodeUnreachable(nodeId, e.Message);
            _calls.Lost(nodeId);
            _dirty = true;
        }
        finally
        {
            if (_calls.End(nodeId) is { } newest)
            {
                // The node's answer is the truth about it, whatever the model assumed.
                Apply(newest);
            }
        }
    }

    /// <summary>Reads the nodes whose state is unknown (never read, or a call to them failed), all at once.</summary>
    private async Task RefreshStaleAsync()
    {
        await Task.WhenAll(_calls.Stale.ToArray().Select(async nodeId =>
        {
            try
            {
                if (await GrainFactory.GetGrain<INodeGrain>(GrainKeys.Node(nodeId)).GetPlacementAsync() is { } report)
                {
                    Apply(report);
                }

                _calls.Refreshed(nodeId);
            }
            catch (Exception e)
            {
                LogNodeUnreachable(nodeId, e.Message);
            }
        }));
    }

    private abstract record DeploymentChange(string DeploymentId);

    /// <summary>Add a deployment, or migrate it to a newer generation, if admission control accepts it.</summary>
    private sealed record Admit(ScheduledDeployment Deployment) : DeploymentChange(Deployment.Spec.DeploymentId);

    private sealed record Desire(string DeploymentId, int Desired, int? Awake) : DeploymentChange(DeploymentId);

    private sealed record Remove(string DeploymentId) : DeploymentChange(DeploymentId);

    /// <summary>A deployment's entry before and after a change (null: not there).</summary>
    private readonly record struct EntryChange(ScheduledDeployment? Before, ScheduledDeployment? After);
}
