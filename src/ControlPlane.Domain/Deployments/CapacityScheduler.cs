using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;

namespace ControlPlane.Domain.Deployments;

/// <summary>A decision of one <see cref="CapacityScheduler.Decide"/> pass, already applied to the scheduler's model.</summary>
public abstract record SchedulingDecision;

/// <summary>Stop a replica and free its GPUs.</summary>
public sealed record ReleaseDecision(string ReplicaId, string NodeId, ReleaseReason Reason) : SchedulingDecision;

/// <summary>Give a new replica these GPUs, preempting these replicas (the node checks it again: it is the lock).</summary>
/// <param name="Wakes">The GPUs are those of an engine of the deployment asleep on the node: the agent wakes it rather than loading a new one.</param>
public sealed record ClaimDecision(PlacedReplica Replica, GpuClaim Claim, GpuHolder[] Preempted, bool Wakes = false) : SchedulingDecision;

/// <summary>A replica the fleet has no room for now, even by preempting every lower tier.</summary>
public sealed record UnplacedDecision(string DeploymentId, int Ordinal, ReplicaTier Tier) : SchedulingDecision;

/// <summary>A replica where the scheduler believes it is, with what it knows of its node.</summary>
/// <param name="Moving">It is being replaced: an older spec generation, a tier its ordinal no longer has, or its node is draining.</param>
/// <param name="NodeHealth">The health of its node (a suspect node's replicas are not routed to).</param>
public sealed record ScheduledReplica(PlacedReplica Replica, string NodeId, bool Moving, NodeHealth NodeHealth);

/// <summary>GPUs of one region and SKU by what they do.</summary>
public sealed record GpuUsage(string Region, string Sku, int Reserved, int Burst, int Serverless, int Batch, int Idle, int Unavailable);

/// <summary>
/// The scheduler's model of the fleet and the deployments, and the loop that turns deficits into claims:
/// <see cref="Reconciler"/> says which replicas to release and place, <see cref="PlacementPlanner"/> picks the
/// GPUs (preempting lower tiers when needed), and <see cref="Admission"/> keeps a <see cref="ReservationLayout"/>
/// so that every accepted reservation stays obtainable. Decisions are applied to the model at once; the scheduler
/// grain then sends each claim to its node (the node is the lock and may refuse, after which the grain puts the
/// node's real state back with <see cref="SetNode"/>), while the fleet simulator takes them as done. Both run these
/// same rules. Not thread-safe.
/// </summary>
public sealed class CapacityScheduler(Random? random = null)
{
    private readonly Random _random = random ?? Random.Shared;
    private readonly Dictionary<string, ScheduledDeployment> _deployments = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DeploymentHeadroom> _headroom = new(StringComparer.Ordinal);
    private readonly Dictionary<string, decimal> _modelRises = new(StringComparer.Ordinal);
    private readonly HashSet<string> _sleepNodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (DeploymentSpec Spec, bool Can)> _canSleep = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (PlacedReplica Replica, string NodeId)> _replicas = new(StringComparer.Ordinal);

    // Replica ids by node and by deployment, so a node's report and a deployment's view touch only their own replicas.
    private readonly Dictionary<string, HashSet<string>> _byNode = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _byDeployment = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeFacts> _nodes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _degraded = new(StringComparer.Ordinal);
    // Engines this scheduler released to sleep that their node has not reported asleep yet (see FallAsleep), with how many of the
    // node's reports have left each out so far.
    private readonly Dictionary<string, List<(SleepingEngine Engine, int Missed)>> _fallingAsleep = new(StringComparer.Ordinal);
    private IReadOnlyList<DeploymentSpec> _honoured = [];
    private bool _layoutStale = true;

    public FleetSnapshot Snapshot { get; } = new();

    /// <summary>Where the reserved replicas of every reservation the fleet can hold have room (see <see cref="DegradedReservations"/>).</summary>
    public ReservationLayout? Layout { get; private set; }

    /// <summary>Replicas preempted since this scheduler started.</summary>
    public long Preemptions { get; private set; }

    public IReadOnlyDictionary<string, ScheduledDeployment> Deployments => _deployments;

    /// <summary>Every node the model knows, with the health its last report gave.</summary>
    public IEnumerable<(string NodeId, NodeHealth Health)> NodeHealths => _nodes.Select(n => (n.Key, n.Value.Health));

    public int ReplicaCount => _replicas.Count;

    /// <summary>
    /// Replaces what is known about a node with what its grain reports (its version must grow: an older report is
    /// ignored and false returned). A node that is not ready keeps its replicas in the model until it reports them gone.
    /// </summary>
    public bool SetNode(PlacementNode node, NodeHealth health, NodeScheduling scheduling, IEnumerable<PlacedReplica> replicas, long version)
    {
        if (_nodes.TryGetValue(node.NodeId, out var known) && known.Version > version)
        {
            return false;
        }

        var old = Snapshot.Find(node.NodeId);
        if (old is null || old.Schedulable != node.Schedulable || old.GpuCount != node.GpuCount || known?.Scheduling != scheduling
            || GroupKey.Of(old) != GroupKey.Of(node))
        {
            MarkLayoutStaleFor(node.NodeId);
        }

        RemoveReplicasOn(node.NodeId);
        foreach (var replica in replicas)
        {
            AddReplica(replica, node.NodeId);
        }

        _nodes[node.NodeId] = new NodeFacts(health, scheduling, version);
        Snapshot.Upsert(WithFallingAsleep(node, health));
        if (node.SleepBudgetBytes is > 0 && node.Schedulable ? _sleepNodes.Add(node.NodeId) : _sleepNodes.Remove(node.NodeId))
        {
            _canSleep.Clear();
        }

        return true;
    }

    /// <summary>
    /// Reports a node's agent sent before it heard of a release (one, usually) do not hold the engine the release put to
    /// sleep: the model keeps taking it as asleep until a report holds it, the node is no longer ready, or the
    /// <see cref="ReportsBeforeAsleep"/>th report leaves it out (the agent stopped it instead: its sleep failed, or
    /// others took the room).
    /// </summary>
    private PlacementNode WithFallingAsleep(PlacementNode node, NodeHealth health)
    {
        if (!_fallingAsleep.TryGetValue(node.NodeId, out var falling))
        {
            return node;
        }

        var reported = node.Sleeping ?? [];
        var still = new List<(SleepingEngine Engine, int Missed)>();
        if (health == NodeHealth.Ready && node.SleepBudgetBytes is not null)
        {
            foreach (var (engine, missed) in falling)
            {
                if (!reported.Any(r => r.Wakes(engine.DeploymentId, engine.GpuIndices)) && missed + 1 < ReportsBeforeAsleep)
                {
                    still.Add((engine, missed + 1));
                }
            }
        }

        if (still.Count == 0)
        {
            _fallingAsleep.Remove(node.NodeId);
            return node;
        }

        _fallingAsleep[node.NodeId] = still;
        return node with { Sleeping = [.. reported, .. still.Select(s => s.Engine)] };
    }

    /// <summary>The report of its node that leaves out an engine the scheduler released to sleep for this many times running takes it as stopped.</summary>
    public const int ReportsBeforeAsleep = 3;

    /// <summary>Adds a deployment or replaces its spec and desired count.</summary>
    public void SetDeployment(ScheduledDeployment deployment)
    {
        var id = deployment.Spec.DeploymentId;
        if (!_deployments.TryGetValue(id, out var old) || !old.Spec.Equals(deployment.Spec))
        {
            _layoutStale = true;
        }

        _deployments[id] = deployment;
    }

    /// <summary>
    /// What a rate-driven deployment last said about its headroom (null forgets it): with the models' quick rises
    /// (<see cref="SetModelRise"/>), the headroom for quick rises runs per model (<see cref="ModelHeadroom"/>). Not stored.
    /// </summary>
    public void SetHeadroom(string deploymentId, DeploymentHeadroom? headroom)
    {
        if (headroom is null)
        {
            _headroom.Remove(deploymentId);
        }
        else
        {
            _headroom[deploymentId] = headroom;
        }
    }

    /// <summary>A pool's learned quick rise (<see cref="ModelRises"/>; the pool is <see cref="ModelHeadroom.PoolOf"/>), tokens per second. Not stored.</summary>
    public void SetModelRise(string pool, decimal quickRise) => _modelRises[pool] = quickRise;

    /// <summary>Removes a deployment; its replicas are released by the next pass.</summary>
    public bool RemoveDeployment(string deploymentId)
    {
        _layoutStale = true;
        _headroom.Remove(deploymentId);
        return _deployments.Remove(deploymentId);
    }

    /// <summary>Records what the agent says about a replica; false when the scheduler does not know the replica.</summary>
    public bool SetReplicaState(string replicaId, ReplicaState state)
    {
        if (!_replicas.TryGetValue(replicaId, out var entry))
        {
            return false;
        }

        _replicas[replicaId] = entry with { Replica = entry.Replica with { State = state } };
        return true;
    }

    /// <summary>
    /// Whether a dedicated spec's reservation fits beside every other accepted reservation, should all shared and
    /// burst work on compatible GPUs be preempted. Specs without reserved replicas always fit.
    /// </summary>
    public bool CanAdmit(DeploymentSpec spec)
    {
        RefreshLayout();
        return Admission.CanReserve(Snapshot, _honoured, spec, Layout);
    }

    /// <summary>Deployments whose reservation the fleet cannot hold now (their nodes went down or were drained).</summary>
    public IReadOnlyCollection<string> DegradedReservations => _degraded;

    /// <summary>The replicas of a deployment, by ordinal.</summary>
    public IReadOnlyList<ScheduledReplica> ReplicasOf(string deploymentId)
    {
        if (!_byDeployment.TryGetValue(deploymentId, out var ids))
        {
            return [];
        }

        _deployments.TryGetValue(deploymentId, out var deployment);
        return ids
            .Select(id => _replicas[id])
            .OrderBy(r => r.Replica.Ordinal)
            .ThenBy(r => r.Replica.ReplicaId, StringComparer.Ordinal)
            .Select(r => Describe(r.Replica, r.NodeId, deployment))
            .ToArray();
    }

    /// <summary>The replicas the model holds on a node (what its grain would report with a change of the node).</summary>
    public IReadOnlyList<PlacedReplica> ReplicasOn(string nodeId) =>
        _byNode.TryGetValue(nodeId, out var ids) ? ids.Select(id => _replicas[id].Replica).ToArray() : [];

    /// <summary>Every replica the model holds.</summary>
    public IEnumerable<ScheduledReplica> Replicas() =>
        _replicas.Values.Select(r => Describe(r.Replica, r.NodeId, _deployments.GetValueOrDefault(r.Replica.DeploymentId)));

    /// <summary>Ready replicas the gateway may route to: on nodes that heartbeat on time (a suspect node's are left out).</summary>
    public IReadOnlyList<ScheduledReplica> EndpointsOf(string deploymentId) =>
        ReplicasOf(deploymentId)
            .Where(r => r.Replica.State == ReplicaState.Ready && r.NodeHealth == NodeHealth.Ready)
            .ToArray();

    /// <summary>GPUs by what they do, per region and SKU, over the nodes the model knows.</summary>
    public IReadOnlyList<GpuUsage> Usage()
    {
        var usage = new Dictionary<(string Region, string Sku), int[]>();
        foreach (var node in Snapshot.Nodes)
        {
            var key = (node.Region, node.Sku);
            if (!usage.TryGetValue(key, out var counts))
            {
                usage[key] = counts = new int[6];
            }

            var health = _nodes.TryGetValue(node.NodeId, out var facts) ? facts.Health : NodeHealth.Enrolled;
            foreach (var holder in node.Slots.Holders)
            {
                if (holder is not null)
                {
                    counts[3 - (int)holder.Tier]++;
                }
                else if (health == NodeHealth.Ready)
                {
                    counts[4]++;
                }
                else
                {
                    counts[5]++;
                }
            }
        }

        return usage
            .OrderBy(u => u.Key.Region, StringComparer.Ordinal)
            .ThenBy(u => u.Key.Sku, StringComparer.Ordinal)
            .Select(u => new GpuUsage(u.Key.Region, u.Key.Sku, u.Value[0], u.Value[1], u.Value[2], u.Value[3], u.Value[4], u.Value[5]))
            .ToArray();
    }

    /// <summary>
    /// One pass: releases what is no longer wanted, then places every missing replica, highest tier first, each
    /// claim applied to the model before the next is planned. Victims preempted here are missing replicas of
    /// their own deployments on the next pass, where they take free GPUs or a still lower tier; a pass with no
    /// release and no claim means the model is settled.
    /// </summary>
    public IReadOnlyList<SchedulingDecision> Decide()
    {
        RefreshLayout();
        var decisions = new List<SchedulingDecision>();
        var plan = Reconciler.Plan(Running(), _replicas.Values.Select(r => new ReplicaLocation(r.Replica, r.NodeId, IsDraining(r.NodeId))));
        foreach (var release in plan.Releases)
        {
            var released = _replicas.TryGetValue(release.ReplicaId, out var entry) ? entry.Replica : null;
            Snapshot.Release(release.ReplicaId);
            RemoveReplica(release.ReplicaId);
            if (release.Reason == ReleaseReason.ScaledDown && released is not null)
            {
                FallAsleep(released, release.NodeId);
            }

            decisions.Add(new ReleaseDecision(release.ReplicaId, release.NodeId, release.Reason));
        }

        foreach (var placement in plan.Placements)
        {
            var deployment = _deployments[placement.DeploymentId];
            var spec = deployment.Spec;
            var claim = PlacementPlanner.Plan(Snapshot, spec, placement.Tier, Layout);
            if (claim is null)
            {
                decisions.Add(new UnplacedDecision(spec.DeploymentId, placement.Ordinal, placement.Tier));
                continue;
            }

            var id = PlacedReplica.NewId(spec.DeploymentId, placement.Ordinal, _random);
            var outcome = Snapshot.Apply(new GpuHolder(id, spec.DeploymentId, placement.Tier), claim);
            if (!outcome.Succeeded)
            {
                // The planner read the same snapshot, so this is a bug rather than a race; say so rather than loop.
                throw new InvalidOperationException($"The planner proposed a claim its own snapshot refuses ({outcome.Status}) for {id}.");
            }

            var victims = new List<PlacedReplica>();
            foreach (var victim in outcome.Preempted)
            {
                if (_replicas.TryGetValue(victim.ReplicaId, out var held))
                {
                    victims.Add(held.Replica);
                }

                RemoveReplica(victim.ReplicaId);
                Preemptions++;
            }

            var replica = new PlacedReplica(id, spec.DeploymentId, spec.Model, placement.Ordinal, deployment.Generation, placement.Tier, claim.GpuIndices, ReplicaState.Starting, spec.Image);
            AddReplica(replica, claim.NodeId);
            decisions.Add(new ClaimDecision(replica, claim, outcome.Preempted, Wake(claim, spec.DeploymentId)));

            // A preempted batch replica's engine sleeps where it ran, as its agent does: it wakes there when the GPUs are free again.
            foreach (var victim in victims.Where(v => v.Tier == ReplicaTier.Batch))
            {
                FallAsleep(victim, claim.NodeId);
            }
        }

        return decisions;
    }

    /// <summary>
    /// The deployments with the replicas that must run. Of a deployment's desired replicas, its awake count must run: its
    /// own <see cref="ScheduledDeployment.Awake"/>, or where its model's headroom is pooled, what
    /// <see cref="ModelHeadroom.Awake"/> gives it. The rest is left to its sleeping engines where it has enough that a replica
    /// could wake now (<see cref="PlacementPlanner.CanWake"/>); the rest of its desired replicas run. Running replicas above
    /// the awake count are released, and their agents put them to sleep: the headroom keeps its engines while its GPUs do
    /// shared work. A dedicated deployment with an awake count also keeps engines for its whole reservation where nodes can
    /// hold engines asleep: replicas up to its reserved count are placed, and sleep once ready, so a rise within the
    /// reservation is a wake of seconds, never a load of minutes.
    /// </summary>
    private IReadOnlyDictionary<string, ScheduledDeployment> Running()
    {
        Dictionary<string, ScheduledDeployment>? running = null;
        var pooled = _headroom.Count == 0 ? null : ModelHeadroom.Awake(_deployments.Values, _headroom, _modelRises, Placed);
        foreach (var (id, deployment) in _deployments)
        {
            if (deployment.Awake is not { } own)
            {
                continue;
            }

            var spec = deployment.Spec;
            var awake = Math.Max(0, pooled is not null && pooled.TryGetValue(id, out var given) ? given : own);
            var desired = HeldAsleep(deployment);
            if (awake >= desired)
            {
                continue;
            }

            var wakeable = 0;
            var headroom = desired - awake;
            foreach (var (nodeId, engine) in Snapshot.SleepingOf(id))
            {
                if (wakeable >= headroom)
                {
                    break;
                }

                if (Snapshot.Find(nodeId) is { } node && PlacementPlanner.CanWake(node, spec, spec.Class == DeploymentClass.Dedicated ? ReplicaTier.Burst : ReplicaTier.Serverless, engine))
                {
                    wakeable++;
                }
            }

            var run = SleepsNow(id, deployment, desired - wakeable, awake);
            if (run != deployment.Desired)
            {
                running ??= new Dictionary<string, ScheduledDeployment>(_deployments, StringComparer.Ordinal);
                running[id] = deployment with { Desired = run };
            }
        }

        return running ?? (IReadOnlyDictionary<string, ScheduledDeployment>)_deployments;
    }

    /// <summary>A deployment's replicas placed now (loading or ready; not its sleeping engines).</summary>
    private int Placed(string deploymentId) => _byDeployment.TryGetValue(deploymentId, out var ids) ? ids.Count : 0;

    /// <summary>
    /// The replicas a deployment with an awake count holds, running or asleep: its desired count, and for a dedicated
    /// deployment at least its reservation where some schedulable node it may run on can hold engines asleep (a replica
    /// placed for the reservation there loads, then sleeps; where no node could, it would run idle).
    /// </summary>
    private int HeldAsleep(ScheduledDeployment deployment)
    {
        var spec = deployment.Spec;
        if (deployment.Awake is null || spec.Class != DeploymentClass.Dedicated || deployment.Desired >= spec.ReservedReplicas || _sleepNodes.Count == 0)
        {
            return deployment.Desired;
        }

        if (!_canSleep.TryGetValue(spec.DeploymentId, out var known) || !known.Spec.Equals(spec))
        {
            var can = _sleepNodes.Any(id => Snapshot.Find(id) is { } node && PlacementPlanner.IsCompatible(spec, node));
            _canSleep[spec.DeploymentId] = known = (spec, can);
        }

        return known.Can ? Math.Max(deployment.Desired, Math.Min(spec.ReservedReplicas, spec.MaxReplicas)) : deployment.Desired;
    }

    /// <summary>
    /// Of <paramref name="run"/> replicas that would run, how many must: the ready ones above <paramref name="awake"/> whose
    /// nodes can hold their engines asleep are released to sleep now (<see cref="FallAsleep"/>), the highest ordinals first,
    /// whether they became headroom by a scale-down or were placed above what must run (the headroom the autoscaler learned
    /// grew, or the scheduler started). A replica still loading runs until it is ready, and stops the count there.
    /// </summary>
    private int SleepsNow(string deploymentId, ScheduledDeployment deployment, int run, int awake)
    {
        if (run <= awake || !_byDeployment.TryGetValue(deploymentId, out var ids))
        {
            return run;
        }

        var top = new Dictionary<int, (PlacedReplica Replica, string NodeId)>();
        foreach (var replicaId in ids)
        {
            var entry = _replicas[replicaId];
            if (entry.Replica.Generation == deployment.Generation && entry.Replica.Ordinal >= awake && entry.Replica.Ordinal < run)
            {
                top[entry.Replica.Ordinal] = entry;
            }
        }

        while (run > awake && top.TryGetValue(run - 1, out var replica) && replica.Replica.State == ReplicaState.Ready
            && Snapshot.Find(replica.NodeId) is { } node && node.SleepBytesOf(replica.Replica.Model) is not null)
        {
            run--;
        }

        return run;
    }

    /// <summary>
    /// A ready replica released on a scale-down, or a ready batch replica preempted, goes to sleep on its node when the node
    /// can hold it asleep (<see cref="PlacementNode.SleepBytesOf"/>), as its agent does, making room as
    /// <see cref="SleepingEngine.Admit"/> says: the model takes it as asleep at once, so the next pass counts it as headroom
    /// instead of placing its ordinal again, and a batch replica wakes there once the GPUs are free.
    /// </summary>
    private void FallAsleep(PlacedReplica replica, string nodeId)
    {
        if (replica.State != ReplicaState.Ready || Snapshot.Find(nodeId) is not { } node
            || node.SleepBytesOf(replica.Model) is not { } bytes)
        {
            return;
        }

        var engine = new SleepingEngine(replica.DeploymentId, replica.Model, [.. replica.GpuIndices.Order()], bytes, replica.Tier == ReplicaTier.Batch);
        if (SleepingEngine.Admit(node.Sleeping ?? [], engine, node.SleepBudgetBytes ?? 0) is not { } engines)
        {
            return;
        }

        Snapshot.Upsert(node with { Sleeping = [.. engines] });
        if (!_fallingAsleep.TryGetValue(nodeId, out var falling))
        {
            _fallingAsleep[nodeId] = falling = [];
        }

        falling.RemoveAll(f => !engines.Contains(f.Engine));
        falling.Add((engine, 0));
    }

    /// <summary>
    /// Whether a claim just applied wakes a sleeping engine of the deployment; if so the engine is no longer asleep in the
    /// model (the node's next report says the same).
    /// </summary>
    private bool Wake(GpuClaim claim, string deploymentId)
    {
        if (Snapshot.Find(claim.NodeId) is not { Sleeping: { Length: > 0 } sleeping } node)
        {
            return false;
        }

        var i = Array.FindIndex(sleeping, s => s.Wakes(deploymentId, claim.GpuIndices));
        if (i < 0)
        {
            return false;
        }

        if (_fallingAsleep.TryGetValue(claim.NodeId, out var falling))
        {
            falling.RemoveAll(f => f.Engine.Equals(sleeping[i]));
        }

        Snapshot.Upsert(node with { Sleeping = [.. sleeping[..i], .. sleeping[(i + 1)..]] });
        return true;
    }

    /// <summary>
    /// Where to pre-stage the weights of dedicated deployments' models (see <see cref="Prestaging"/>): each node's
    /// prefetch list, for nodes with something to fetch.
    /// </summary>
    public IReadOnlyDictionary<string, string[]> Prestage()
    {
        RefreshLayout();
        var deployments = _deployments.Values
            .Where(d => d.Spec.Class == DeploymentClass.Dedicated)
            .Select(d => new PrestageDeployment(d.Spec, _byDeployment.TryGetValue(d.Spec.DeploymentId, out var ids) ? ids.Count : 0))
            .ToArray();
        return Prestaging.Plan(Snapshot, deployments, Layout);
    }

    /// <summary>
    /// Runs <see cref="Decide"/> until a pass changes nothing (at most <paramref name="maxPasses"/>), returning every decision.
    /// <paramref name="afterPass"/> sees each pass's decisions before the next pass, so whoever carries them out can report
    /// back what changed meanwhile (the fleet simulator: the engines its nodes put to sleep).
    /// </summary>
    public IReadOnlyList<SchedulingDecision> Settle(int maxPasses = 8, Action<IReadOnlyList<SchedulingDecision>>? afterPass = null)
    {
        var all = new List<SchedulingDecision>();
        for (var pass = 0; pass < maxPasses; pass++)
        {
            var decisions = Decide();
            afterPass?.Invoke(decisions);
            all.AddRange(decisions);
            if (!decisions.Any(d => d is ReleaseDecision or ClaimDecision))
            {
                break;
            }
        }

        return all;
    }

    private void AddReplica(PlacedReplica replica, string nodeId)
    {
        // A replica reported by a second node (a move seen out of order) is where the later report says.
        RemoveReplica(replica.ReplicaId);
        _replicas[replica.ReplicaId] = (replica, nodeId);
        Index(_byNode, nodeId).Add(replica.ReplicaId);
        Index(_byDeployment, replica.DeploymentId).Add(replica.ReplicaId);
    }

    private void RemoveReplica(string replicaId)
    {
        if (_replicas.Remove(replicaId, out var entry))
        {
            Unindex(_byNode, entry.NodeId, replicaId);
            Unindex(_byDeployment, entry.Replica.DeploymentId, replicaId);
        }
    }

    private void RemoveReplicasOn(string nodeId)
    {
        if (_byNode.TryGetValue(nodeId, out var ids))
        {
            foreach (var id in ids.ToArray())
            {
                RemoveReplica(id);
            }
        }
    }

    private static HashSet<string> Index(Dictionary<string, HashSet<string>> index, string key)
    {
        if (!index.TryGetValue(key, out var ids))
        {
            index[key] = ids = new HashSet<string>(StringComparer.Ordinal);
        }

        return ids;
    }

    private static void Unindex(Dictionary<string, HashSet<string>> index, string key, string replicaId)
    {
        if (index.TryGetValue(key, out var ids) && ids.Remove(replicaId) && ids.Count == 0)
        {
            index.Remove(key);
        }
    }

    /// <summary>
    /// A node's capacity or schedulability changed. Only a node the layout reserves room on can break it, and only
    /// a layout that is short (degraded reservations) can gain from another node: otherwise the layout stands, and a
    /// fleet coming up or a region going down does not recompute it over the whole fleet once per node.
    /// </summary>
    private void MarkLayoutStaleFor(string nodeId)
    {
        if (Layout is null || _degraded.Count > 0 || Layout.On(nodeId).Count > 0)
        {
            _layoutStale = true;
        }
    }

    /// <summary>The layout is redone whenever the nodes that can take work or the reservations change.</summary>
    /// <remarks>
    /// When the fleet can no longer hold every reservation (a region lost nodes), the reservations that still fit
    /// are kept, taken in id order, and the others are degraded: their replicas are still placed where they fit,
    /// best effort, but they no longer count against new admissions, so one region's outage does not refuse every
    /// new reservation elsewhere.
    /// </remarks>
    private void RefreshLayout()
    {
        if (!_layoutStale)
        {
            return;
        }

        _layoutStale = false;
        var specs = DedicatedSpecs().OrderBy(s => s.DeploymentId, StringComparer.Ordinal).ToList();
        _degraded.Clear();
        Layout = Admission.Reserve(Snapshot, specs, Layout);
        if (Layout is not null)
        {
            _honoured = specs;
            return;
        }

        var kept = new List<DeploymentSpec>();
        ReservationLayout? layout = null;
        foreach (var spec in specs)
        {
            var attempt = Admission.Reserve(Snapshot, kept.Append(spec), layout);
            if (attempt is null)
            {
                _degraded.Add(spec.DeploymentId);
                continue;
            }

            kept.Add(spec);
            layout = attempt;
        }

        _honoured = kept;
        Layout = layout;
    }

    private IEnumerable<DeploymentSpec> DedicatedSpecs() =>
        _deployments.Values.Select(d => d.Spec).Where(s => s.Class == DeploymentClass.Dedicated && s.ReservedReplicas > 0);

    private bool IsDraining(string nodeId) => _nodes.TryGetValue(nodeId, out var facts) && facts.Scheduling == NodeScheduling.Draining;

    private ScheduledReplica Describe(PlacedReplica replica, string nodeId, ScheduledDeployment? deployment) =>
        new(replica,
            nodeId,
            IsDraining(nodeId) || (deployment is not null && !Reconciler.IsCurrent(replica, deployment)),
            _nodes.TryGetValue(nodeId, out var facts) ? facts.Health : NodeHealth.Enrolled);

    private sealed record NodeFacts(NodeHealth Health, NodeScheduling Scheduling, long Version);
}
