using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;
using CsCheck;

namespace ControlPlane.Domain.Tests.Placement;

/// <summary>
/// Random fleets and deployments driven through random demand, node failures, cordons, crashes and racing
/// schedulers, with node grains modelled as <see cref="NodeSlots"/> values that every claim goes through.
/// </summary>
public sealed class PlacementPropertyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private static readonly (string Sku, long MemoryMiB)[] Skus =
        [("h100-sxm-80gb", 81_559), ("h200-141gb", 143_771), ("a100-40gb", 40_960), ("l4-24gb", 23_034)];

    // Every spec serves "model": nodes hold it warm, hold only another model, or hold nothing.
    private static readonly WarmModel[]?[] WarmSets =
        [null, [new WarmModel("model", 100)], [new WarmModel("other", 100)], [new WarmModel("other", 100), new WarmModel("model", 100)]];

    private static readonly Gen<PlacementNode> Nodes =
        Gen.Select(
                Gen.Int[0, Skus.Length - 1],
                Gen.Frequency((1, Gen.Int[1, 8]), (3, Gen.Const(8)), (1, Gen.OneOf(2, 4))),
                Gen.OneOf(2m, 3m, 2.5m),
                Gen.Enum<Ownership>(),
                Gen.OneOf("eu-west", "us-east"),
                Gen.Int[0, 3])
            .Select((sku, gpus, costPerGpu, ownership, region, warm) =>
                PlacementNode.Create("n", region, Skus[sku].Sku, Skus[sku].MemoryMiB, gpus, costPerGpu * gpus, ownership) with { WarmModels = WarmSets[warm] });

    private static readonly Gen<PlacementNode[]> Fleets =
        Nodes.Array[1, 6].Select(nodes => nodes.Select((n, i) => n with { NodeId = $"n{i:D2}" }).ToArray());

    private static readonly Gen<DeploymentSpec> Specs =
        Gen.Select(
                Gen.Frequency((3, Gen.Const(DeploymentClass.Dedicated)), (2, Gen.Const(DeploymentClass.Serverless)), (2, Gen.Const(DeploymentClass.Batch))),
                Gen.Frequency((4, Gen.Const(1)), (2, Gen.Const(2)), (2, Gen.Const(4)), (1, Gen.Const(8)), (1, Gen.Int[1, 8])),
                Gen.Frequency((4, Gen.Const(0)), (1, Gen.OneOf(24, 40, 80))),
                Gen.Frequency((4, Gen.Const<string[]?>((string[]?)null)), (1, Gen.Int[0, Skus.Length - 1].Select(i => (string[]?)[Skus[i].Sku])), (1, Gen.Const<string[]?>(["us-east"]))),
                Gen.Int[0, 2],
                Gen.Int[0, 8],
                Gen.Int[0, 3])
            .Select((cls, gpus, memory, filter, min, extra, reserved) =>
            {
                var isRegion = filter is ["us-east"];
                var max = min + extra + (cls == DeploymentClass.Dedicated ? reserved : 0);
                return new DeploymentSpec(
                    "d", "model", cls, cls == DeploymentClass.Dedicated ? "customer" : null, gpus, memory,
                    isRegion ? null : filter, isRegion ? filter : null,
                    min, cls == DeploymentClass.Dedicated ? Math.Min(reserved, max) : 0, Math.Max(1, max), 100m);
            });

    private static readonly Gen<DeploymentSpec[]> Deployments =
        Specs.Array[1, 8].Select(specs => specs.Select((s, i) => s with { DeploymentId = $"d{i}", CustomerId = s.CustomerId is null ? null : $"c{i % 3}" }).ToArray());

    private abstract record Step;

    private sealed record DemandStep(int Deployment, int TokensPerSecond, int Seconds) : Step;

    private sealed record DownStep(int Node) : Step;

    private sealed record CordonStep(int Node) : Step;

    private sealed record UpStep(int Node) : Step;

    private sealed record CrashStep(int Replica) : Step;

    private sealed record RaceStep(int A, int B) : Step;

    private static readonly Gen<Step> Steps = Gen.Frequency<Step>(
        (10, Gen.Select(Gen.Int[0, 7], Gen.OneOf(0, 50, 100, 250, 500, 1_000), Gen.Int[0, 90]).Select(Step (d, t, s) => new DemandStep(d, t, s))),
        (1, Gen.Int[0, 9].Select(Step (n) => new DownStep(n))),
        (1, Gen.Int[0, 9].Select(Step (n) => new CordonStep(n))),
        (2, Gen.Int[0, 9].Select(Step (n) => new UpStep(n))),
        (1, Gen.Int[0, 100].Select(Step (r) => new CrashStep(r))),
        (3, Gen.Select(Gen.Int[0, 7], Gen.Int[0, 7]).Select(Step (a, b) => new RaceStep(a, b))));

    [Fact]
    public void AnyLife_NoGpuTwiceNoPreemptionUpwardAndReservationsObtainable()
    {
        Gen.Select(Fleets, Deployments, Steps.Array[0, 60]).Sample((fleet, specs, steps) =>
        {
            var world = new World(fleet, specs);
            world.Check();
            foreach (var step in steps)
            {
                world.Run(step);
                world.Check();
            }
        }, iter: 1_000);
    }

    [Fact]
    public void AcceptedReservations_AreObtainableInAnyOrderWhateverSharedWorkDoes()
    {
        var arrivals = Gen.Select(Gen.Int[0, 3], Gen.Int[0, 1_000]).Array[0, 80];
        Gen.Select(Fleets, Deployments, arrivals).Sample((fleet, specs, events) =>
        {
            var world = new World(fleet, specs, admitUpFront: false);
            var shared = world.All.Where(d => d.Spec.Class != DeploymentClass.Dedicated).ToArray();
            var dedicated = world.All.Where(d => d.Spec.Class == DeploymentClass.Dedicated).ToArray();

            // Shared work fills the fleet first, as it does while nothing is reserved.
            foreach (var d in shared)
            {
                d.Wanted = d.Spec.MaxReplicas;
                world.Reconcile(d);
            }

            // Deployments are created one at a time, each admitted against those before it and the placements so far.
            var admitted = new List<Deployment>();
            var pending = new Queue<Deployment>(dedicated);
            var arrived = new List<(Deployment D, int Ordinal)>();
            foreach (var (kind, pick) in events)
            {
                switch (kind)
                {
                    case 0 when pending.Count > 0:
                        var next = pending.Dequeue();
                        if (world.Admit(next))
                        {
                            admitted.Add(next);
                        }

                        break;

                    case 1:
                        // A reserved replica arrives: any admitted deployment, any ordinal still missing.
                        var missing = admitted
                            .SelectMany(d => Enumerable.Range(0, d.Spec.ReservedReplicas).Where(o => !d.Ordinals.ContainsKey(o)).Select(o => (d, o)))
                            .ToArray();
                        if (missing.Length > 0)
                        {
                            var (d, o) = missing[pick % missing.Length];
                            Assert.True(world.Place(d, o), $"reserved replica {o} of {d.Spec.DeploymentId} could not be obtained");
                            arrived.Add((d, o));
                        }

                        break;

                    case 2:
                        // Shared or burst work arrives (best effort) or a reserved replica goes away again.
                        var all = world.All.ToArray();
                        var any = all[pick % all.Length];
                        var ordinal = any.Spec.Class == DeploymentClass.Dedicated ? any.Spec.ReservedReplicas + pick % 3 : pick % 4;
                        if (any.Spec.Class != DeploymentClass.Dedicated || admitted.Contains(any) || ordinal >= any.Spec.ReservedReplicas)
                        {
                            world.Place(any, ordinal);
                        }

                        break;

                    default:
                        var replicas = world.Replicas.Keys.Order(StringComparer.Ordinal).ToArray();
                        if (replicas.Length > 0)
                        {
                            world.Release(replicas[pick % replicas.Length]);
                        }

                        break;
                }

                world.Check();
            }

            // Whatever is still missing arrives last, in a fixed but arbitrary order.
            foreach (var d in admitted)
            {
                for (var o = 0; o < d.Spec.ReservedReplicas; o++)
                {
                    if (!d.Ordinals.ContainsKey(o))
                    {
                        Assert.True(world.Place(d, o), $"reserved replica {o} of {d.Spec.DeploymentId} could not be obtained");
                    }
                }
            }

            world.Check();
            Assert.All(admitted, d => Assert.Equal(d.Spec.ReservedReplicas, d.Ordinals.Keys.Count(o => o < d.Spec.ReservedReplicas)));
        }, iter: 1_500);
    }

    [Fact]
    public void TryClaim_AnyClaim_NeverTakesAGpuFromAnEqualOrHigherTierOrAnUnnamedReplica()
    {
        var holders = Gen.Select(Gen.Int[0, 4], Gen.Enum<ReplicaTier>()).Select((r, t) => (GpuHolder?)new GpuHolder($"r{r}", "d", t));
        var slots = Gen.Frequency((1, Gen.Const<GpuHolder?>((GpuHolder?)null)), (3, holders)).Array[1, 8]
            .Select(h => Normalise(h));
        Gen.Select(slots, Gen.Enum<ReplicaTier>(), Gen.Int[0, 7].Array[1, 4], Gen.Int[0, 4].Array[0, 5]).Sample((before, tier, gpus, victims) =>
        {
            var allowed = victims.Select(v => $"r{v}").ToArray();
            var outcome = before.TryClaim("new", "d", tier, gpus, allowed);
            if (!outcome.Succeeded)
            {
                Assert.Same(before, outcome.Slots);
                return;
            }

            Assert.All(outcome.Preempted, v => Assert.True(v.Tier < tier && allowed.Contains(v.ReplicaId)));
            for (var i = 0; i < before.Count; i++)
            {
                var was = before.Holders[i];
                var now = outcome.Slots.Holders[i];
                if (gpus.Contains(i))
                {
                    Assert.Equal("new", now?.ReplicaId);
                    Assert.True(was is null || outcome.Preempted.Contains(was));
                }
                else if (was is not null && outcome.Preempted.Contains(was))
                {
                    Assert.Null(now);
                }
                else
                {
                    Assert.Equal(was, now);
                }
            }
        }, iter: 5_000);
    }

    [Fact]
    public void Plan_AnyFleetAfterAnyChanges_ChoosesWhatABruteForceSearchChooses()
    {
        var changes = Gen.Select(Gen.Int[0, 10], Gen.Int[0, 7], Gen.Enum<ReplicaTier>(), Gen.Int[1, 8], Gen.Int[0, 99]).Array[0, 80];
        Gen.Select(Fleets, changes, Specs, Gen.Enum<ReplicaTier>()).Sample((fleet, steps, spec, tier) =>
        {
            // Random holders, releases and cordons through the snapshot, so its index has followed many changes.
            var snapshot = new FleetSnapshot(fleet);
            var replicas = new List<string>();
            var n = 0;
            foreach (var (kind, node, holderTier, gpus, pick) in steps)
            {
                var target = fleet[node % fleet.Length].NodeId;
                switch (kind)
                {
                    case < 6:
                        var free = Enumerable.Range(0, snapshot.Find(target)!.GpuCount).Where(snapshot.Find(target)!.Slots.IsFree).Take(gpus).ToArray();
                        var id = $"r{n++}";
                        if (free.Length > 0 && snapshot.Apply(new GpuHolder(id, $"d{pick % 3}", holderTier), new GpuClaim(target, free, [])).Succeeded)
                        {
                            replicas.Add(id);
                        }

                        break;
                    case < 8 when replicas.Count > 0:
                        var gone = replicas[pick % replicas.Count];
                        snapshot.Release(gone);
                        replicas.Remove(gone);
                        break;
                    case 8:
                        snapshot.Upsert(snapshot.Find(target)! with { Schedulable = !snapshot.Find(target)!.Schedulable });
                        break;
                    case 9:
                        // The node's cache changes: a prefetch finished, or weights were evicted.
                        snapshot.Upsert(snapshot.Find(target)! with { WarmModels = WarmSets[pick % WarmSets.Length] });
                        break;
                    default:
                        replicas.RemoveAll(r => snapshot.MarkDown(target).Any(h => h.ReplicaId == r));
                        break;
                }
            }

            Assert.Equal(BruteForce(snapshot.Nodes.ToArray(), spec, tier), PlacementPlanner.Plan(snapshot, spec, tier));
        }, iter: 3_000);
    }

    /// <summary>The planner's rules written as a scan of every node and every set of victims.</summary>
    private static GpuClaim? BruteForce(PlacementNode[] nodes, DeploymentSpec spec, ReplicaTier tier)
    {
        var need = spec.GpusPerReplica;
        var candidates = nodes.Where(n => n.Schedulable && PlacementPlanner.IsCompatible(spec, n)).ToArray();
        var free = candidates
            .Where(n => n.Slots.FreeCount >= need)
            .OrderBy(n => n.IsWarm(spec.Model) ? 0 : 1)
            .ThenBy(n => n.HourlyCostPerGpuUsd).ThenBy(n => n.Ownership).ThenBy(n => n.Slots.FreeCount).ThenBy(n => n.NodeId, StringComparer.Ordinal)
            .FirstOrDefault();
        if (free is not null)
        {
            return new GpuClaim(free.NodeId, Enumerable.Range(0, free.GpuCount).Where(free.Slots.IsFree).Take(need).ToArray(), []);
        }

        var options = new List<(PlacementNode Node, (int, int, int, int) Key, GpuHolder[] Victims)>();
        foreach (var node in candidates.Where(n => n.Slots.FreeCount < need))
        {
            var lower = node.Slots.Replicas().Where(r => r.Tier < tier).ToArray();
            (int, int, int, int)? best = null;
            GpuHolder[] bestVictims = [];
            for (var mask = 1; mask < 1 << lower.Length; mask++)
            {
                var victims = lower.Where((_, i) => (mask & (1 << i)) != 0).ToArray();
                var gpus = victims.Sum(v => node.Slots.GpusOf(v.ReplicaId).Length);
                var key = (victims.Count(v => v.Tier == ReplicaTier.Burst), victims.Count(v => v.Tier == ReplicaTier.Serverless), victims.Count(v => v.Tier == ReplicaTier.Batch), gpus);
                if (node.Slots.FreeCount + gpus >= need && (best is null || key.CompareTo(best.Value) < 0))
                {
                    best = key;
                    bestVictims = victims;
                }
            }

            if (best is not null)
            {
                options.Add((node, best.Value, bestVictims));
            }
        }

        if (options.Count == 0)
        {
            return null;
        }

        var (chosen, _, chosenVictims) = options
            .OrderBy(o => o.Key)
            .ThenBy(o => o.Node.IsWarm(spec.Model) ? 0 : 1)
            .ThenBy(o => o.Node.HourlyCostPerGpuUsd).ThenBy(o => o.Node.Ownership)
            .ThenBy(o => o.Node.Slots.FreeCount + o.Key.Item4)
            .ThenBy(o => o.Node.NodeId, StringComparer.Ordinal)
            .First();
        var claimed = Enumerable.Range(0, chosen.GpuCount).Where(chosen.Slots.IsFree)
            .Concat(Enumerable.Range(0, chosen.GpuCount).Where(i => chosenVictims.Any(v => v.ReplicaId == chosen.Slots.Holders[i]?.ReplicaId)))
            .Take(need).Order().ToArray();
        return new GpuClaim(chosen.NodeId, claimed, chosenVictims.Select(v => v.ReplicaId).ToArray());
    }

    // A replica's holders agree on its deployment and tier, as claims make them.
    private static NodeSlots Normalise(GpuHolder?[] holders)
    {
        var first = new Dictionary<string, GpuHolder>(StringComparer.Ordinal);
        return new NodeSlots(holders.Select(h => h is null ? null : first.TryAdd(h.ReplicaId, h) ? h : first[h.ReplicaId]).ToArray());
    }

    private sealed class Deployment(DeploymentSpec spec)
    {
        public DeploymentSpec Spec { get; } = spec;

        public AutoscaleState Autoscale { get; set; } = Autoscaler.Start(spec);

        public decimal Demand { get; set; }

        /// <summary>Replicas wanted when the test drives placement directly.</summary>
        public int Wanted { get; set; }

        public Dictionary<int, string> Ordinals { get; } = [];
    }

    private sealed record Placed(Deployment Deployment, int Ordinal, ReplicaTier Tier, string NodeId, int[] Gpus);

    /// <summary>Node grains (the authority), a scheduler's snapshot of them, deployments and what they believe they hold.</summary>
    private sealed class World
    {
        private readonly Dictionary<string, PlacementNode> _nodes = new(StringComparer.Ordinal);
        private readonly Dictionary<string, NodeSlots> _grains = new(StringComparer.Ordinal);
        private readonly FleetSnapshot _view;
        private readonly List<Deployment> _deployments = [];
        private readonly List<Deployment> _admitted = [];
        private readonly Autoscaler _autoscaler = Autoscaler.Default;
        private ReservationLayout? _layout;
        private DateTimeOffset _now = T0;
        private int _sequence;

        public World(PlacementNode[] fleet, DeploymentSpec[] specs, bool admitUpFront = true)
        {
            foreach (var node in fleet)
            {
                _nodes[node.NodeId] = node;
                _grains[node.NodeId] = node.Slots;
            }

            _view = new FleetSnapshot(fleet);
            foreach (var spec in specs)
            {
                var deployment = new Deployment(spec);
                if (!admitUpFront || Admit(deployment))
                {
                    _deployments.Add(deployment);
                }
            }

            if (admitUpFront)
            {
                ReconcileAll();
            }
        }

        public IEnumerable<Deployment> All => _deployments;

        public Dictionary<string, Placed> Replicas { get; } = new(StringComparer.Ordinal);

        private IEnumerable<DeploymentSpec> Admitted => _admitted.Select(d => d.Spec);

        /// <summary>Admission as the API runs it: refused deployments are not created.</summary>
        public bool Admit(Deployment deployment)
        {
            if (!Admission.CanReserve(_view, Admitted, deployment.Spec, _layout))
            {
                return false;
            }

            if (!_deployments.Contains(deployment))
            {
                _deployments.Add(deployment);
            }

            if (deployment.Spec.Class == DeploymentClass.Dedicated)
            {
                _admitted.Add(deployment);
            }

            _layout = Admission.Reserve(_view, Admitted, _layout);
            Assert.NotNull(_layout);
            return true;
        }

        public void Run(Step step)
        {
            var nodeIds = _nodes.Keys.Order(StringComparer.Ordinal).ToArray();
            switch (step)
            {
                case DemandStep or RaceStep when _deployments.Count == 0:
                    break;

                case DemandStep demand:
                    _now = _now.AddSeconds(demand.Seconds);
                    _deployments[demand.Deployment % _deployments.Count].Demand = demand.TokensPerSecond;
                    foreach (var d in _deployments)
                    {
                        d.Autoscale = _autoscaler.Next(d.Autoscale, d.Spec, d.Demand, _now);
                        Assert.InRange(d.Autoscale.Desired, d.Spec.MinReplicas, d.Spec.MaxReplicas);
                    }

                    break;

                case DownStep down:
                    var id = nodeIds[down.Node % nodeIds.Length];
                    _nodes[id] = _nodes[id] with { Schedulable = false };
                    _grains[id] = _grains[id].ReleaseAll();
                    var lost = _view.MarkDown(id);
                    Assert.All(lost, h => Forget(h.ReplicaId));
                    Sync(id);
                    Relayout();
                    break;

                case CordonStep cordon:
                    SetSchedulable(nodeIds[cordon.Node % nodeIds.Length], false);
                    break;

                case UpStep up:
                    SetSchedulable(nodeIds[up.Node % nodeIds.Length], true);
                    break;

                case CrashStep crash when Replicas.Count > 0:
                    Release(Replicas.Keys.Order(StringComparer.Ordinal).ElementAt(crash.Replica % Replicas.Count));
                    break;

                case RaceStep race:
                    Race(_deployments[race.A % _deployments.Count], _deployments[race.B % _deployments.Count]);
                    break;
            }

            ReconcileAll();
        }

        public void ReconcileAll()
        {
            foreach (var d in _deployments)
            {
                d.Wanted = d.Autoscale.Desired;
                Reconcile(d);
            }
        }

        /// <summary>Releases replicas above the wanted count (burst first) and places the missing ones (lowest ordinals first).</summary>
        public void Reconcile(Deployment d)
        {
            foreach (var ordinal in d.Ordinals.Keys.Where(o => o >= d.Wanted).OrderDescending().ToArray())
            {
                Release(d.Ordinals[ordinal]);
            }

            for (var ordinal = 0; ordinal < d.Wanted; ordinal++)
            {
                if (!d.Ordinals.ContainsKey(ordinal))
                {
                    var placed = Place(d, ordinal);

                    // (c) while a layout holds for this fleet, every reserved replica is obtainable.
                    Assert.True(placed || d.Spec.TierOf(ordinal) != ReplicaTier.Reserved || _layout is null,
                        $"reserved replica {ordinal} of {d.Spec.DeploymentId} could not be obtained");
                }
            }
        }

        /// <summary>Plans one replica on the snapshot and claims it through its node; false when nothing fits.</summary>
        public bool Place(Deployment d, int ordinal)
        {
            if (d.Ordinals.ContainsKey(ordinal))
            {
                return true;
            }

            var tier = d.Spec.TierOf(ordinal);
            var claim = PlacementPlanner.Plan(_view, d.Spec, tier, _layout);
            return claim is not null && Claim(d, ordinal, tier, claim) is { Succeeded: true };
        }

        public void Release(string replicaId)
        {
            var placed = Replicas[replicaId];
            _grains[placed.NodeId] = _grains[placed.NodeId].Release(replicaId);
            Assert.True(_view.Release(replicaId));
            Forget(replicaId);
        }

        /// <summary>Two schedulers plan from the same view, then claim one after the other.</summary>
        private void Race(Deployment a, Deployment b)
        {
            var first = Missing(a).FirstOrDefault(-1);
            var second = Missing(b).FirstOrDefault(o => a != b || o != first, -1);
            if (first < 0 || second < 0)
            {
                return;
            }

            // Reserved decisions of one region are made one at a time by its scheduler: only one side may be reserved.
            if (a.Spec.TierOf(first) == ReplicaTier.Reserved && b.Spec.TierOf(second) == ReplicaTier.Reserved)
            {
                return;
            }

            var claimA = PlacementPlanner.Plan(_view, a.Spec, a.Spec.TierOf(first), _layout);
            var claimB = PlacementPlanner.Plan(_view, b.Spec, b.Spec.TierOf(second), _layout);
            if (claimA is not null)
            {
                Claim(a, first, a.Spec.TierOf(first), claimA);
            }

            if (claimB is not null)
            {
                Claim(b, second, b.Spec.TierOf(second), claimB);
            }
        }

        // Racing schedulers may also be scaling up (what is above the desired count is released afterwards).
        private static IEnumerable<int> Missing(Deployment d) =>
            Enumerable.Range(0, d.Spec.MaxReplicas).Where(o => !d.Ordinals.ContainsKey(o));

        private ClaimOutcome Claim(Deployment d, int ordinal, ReplicaTier tier, GpuClaim claim)
        {
            // (b) the planner names only strictly lower tiers as victims (a racing claim may name some already gone).
            Assert.All(claim.Victims, v => Assert.True(!Replicas.TryGetValue(v, out var victim) || victim.Tier < tier, $"{tier} claim names a victim of an equal or higher tier"));

            var holder = new GpuHolder($"{d.Spec.DeploymentId}/{ordinal}/{_sequence++}", d.Spec.DeploymentId, tier);
            var outcome = _grains[claim.NodeId].TryClaim(holder, claim);
            var viewed = _view.Apply(holder, claim);
            Assert.Equal(outcome.Status, viewed.Status);
            Assert.Equal(outcome.Slots, viewed.Slots);
            if (!outcome.Succeeded)
            {
                return outcome;
            }

            _grains[claim.NodeId] = outcome.Slots;
            foreach (var victim in outcome.Preempted)
            {
                Assert.True(victim.Tier < tier, $"{tier} claim preempted {victim.Tier} replica {victim.ReplicaId}");
                Forget(victim.ReplicaId);
            }

            Assert.Equal(d.Spec.GpusPerReplica, claim.GpuIndices.Length);
            Replicas[holder.ReplicaId] = new Placed(d, ordinal, tier, claim.NodeId, claim.GpuIndices);
            d.Ordinals[ordinal] = holder.ReplicaId;
            return outcome;
        }

        private void Forget(string replicaId)
        {
            Assert.True(Replicas.Remove(replicaId, out var placed));
            Assert.True(placed.Deployment.Ordinals.Remove(placed.Ordinal));
        }

        private void SetSchedulable(string nodeId, bool schedulable)
        {
            _nodes[nodeId] = _nodes[nodeId] with { Schedulable = schedulable };
            Sync(nodeId);
            Relayout();
        }

        private void Sync(string nodeId) => _view.Upsert(_nodes[nodeId] with { Slots = _grains[nodeId] });

        // The fleet changed: lay reservations out again; when they no longer fit, the guarantee is suspended.
        private void Relayout() => _layout = Admission.Reserve(_view, Admitted, _layout);

        /// <summary>(a) every GPU has at most one replica that believes it holds it, and the snapshot agrees with the nodes.</summary>
        public void Check()
        {
            var gpus = new HashSet<(string, int)>();
            foreach (var (replicaId, placed) in Replicas)
            {
                Assert.Equal(placed.Gpus, _grains[placed.NodeId].GpusOf(replicaId));
                Assert.Equal(placed.Deployment.Spec.GpusPerReplica, placed.Gpus.Length);
                Assert.Equal(placed.NodeId, _view.NodeOf(replicaId));
                Assert.All(placed.Gpus, g => Assert.True(gpus.Add((placed.NodeId, g)), $"GPU {g} of {placed.NodeId} given twice"));
            }

            foreach (var (nodeId, slots) in _grains)
            {
                Assert.Equal(slots, _view.Find(nodeId)!.Slots);
                Assert.All(slots.Holders.OfType<GpuHolder>(), h => Assert.True(Replicas.ContainsKey(h.ReplicaId), $"{h.ReplicaId} holds a GPU nobody knows of"));
            }

            Assert.All(_deployments, d => Assert.All(d.Ordinals, o => Assert.Equal(o.Key, Replicas[o.Value].Ordinal)));
        }
    }
}
