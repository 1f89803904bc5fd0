using System.Diagnostics;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Partners;
using ControlPlane.Domain.Placement;

namespace ControlPlane.Simulator.Simulation;

/// <summary>How long to simulate, in steps of how many seconds, from which seed.</summary>
internal sealed record SimulationSettings(double Hours, int StepSeconds, int Seed)
{
    public int Steps => (int)Math.Ceiling(Hours * 3600 / StepSeconds);

    public double HorizonSeconds => (double)Steps * StepSeconds;
}

/// <summary>The schedulers of a policy after a step, for whoever watches the run (the tests check the GPU map).</summary>
internal sealed record SimulationStep(string Policy, int Index, double Seconds, IReadOnlyList<SchedulerPartition> Partitions);

/// <summary>
/// The discrete-event fleet simulator. Virtual time advances in steps; events (a node fails, a node is repaired,
/// a replica's model has loaded) fall between them and take effect at the first step boundary at or after their
/// time. Each step, in order:
/// <list type="number">
/// <item>due events are applied to the schedulers: a failed node is reported down, not schedulable and without
/// replicas (<see cref="CapacityScheduler.SetNode"/>), a repaired node comes back empty, a loaded replica is reported
/// ready (<see cref="CapacityScheduler.SetReplicaState"/>);</item>
/// <item>each deployment's demand for the step goes through the product's <see cref="Autoscaler"/>, and the policy
/// turns its answer into the desired replicas given to the scheduler (<see cref="CapacityScheduler.SetDeployment"/>);</item>
/// <item>every scheduler settles (<see cref="CapacityScheduler.Settle"/>): the project's reconciler, placement
/// planner, preemption and admission decide; each claim is taken as done (the scheduler already applied it to its
/// model) and its replica starts loading, ready after its model's load time;</item>
/// <item>the step is measured: ready replicas serve demand up to their throughput, the rest of serverless demand
/// spills, batch works through its backlog.</item>
/// </list>
/// Nothing here places a replica: placement, preemption and scaling are the domain's. Deterministic for a seed:
/// failures are drawn from it once (every policy sees the same ones), and the schedulers' replica ids come from it.
/// </summary>
internal sealed class FleetSimulation
{
    /// <summary>When simulated time starts (the autoscaler compares times, so they must be real instants).</summary>
    public static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly FleetFile _fleet;
    private readonly SimulationSettings _settings;
    private readonly IReadOnlyList<PlacementNode> _nodes;
    private readonly double[][] _demand;
    private readonly Dictionary<string, FleetNodeGroup> _groupOf;

    /// <param name="traces">The traces, the first one driving deployments that name none.</param>
    public FleetSimulation(FleetFile fleet, IReadOnlyList<Trace> traces, SimulationSettings settings)
    {
        if (traces.Count == 0)
        {
            throw new ArgumentException("at least one trace is needed", nameof(traces));
        }

        _fleet = fleet;
        _settings = settings;
        _nodes = fleet.Nodes();
        var missing = fleet.Deployments
            .Where(d => d.Traffic?.Trace is { } name && !traces.Any(t => t.Name == name))
            .Select(d => $"{d.Id}.traffic.trace: no --trace is named '{d.Traffic!.Trace}' (given: {string.Join(", ", traces.Select(t => t.Name))})")
            .ToArray();
        if (missing.Length > 0)
        {
            throw new FleetFileException($"{fleet.Name} with the traces given", missing);
        }

        _demand = fleet.Deployments
            .Select(d => d.Traffic is { } traffic
                ? DemandSeries.Build(traces.First(t => traffic.Trace is null || t.Name == traffic.Trace), traffic, settings.Steps, settings.StepSeconds)
                : new double[settings.Steps])
            .ToArray();
        _groupOf = fleet.NodeGroups
            .SelectMany(g => Enumerable.Range(1, g.Count).Select(i => (g.Node(i).NodeId, Group: g)))
            .ToDictionary(n => n.NodeId, n => n.Group, StringComparer.Ordinal);
        Outages = FailureSchedule.Draw(_nodes.Select(n => n.NodeId), fleet.Failures, settings.HorizonSeconds, new Random(settings.Seed));
    }

    /// <summary>Steps from placing a replica to its serving: a load time rounded up to whole steps (at least one).</summary>
    private static int LoadSteps(TimeSpan loadTime, int stepSeconds) => Math.Max(1, (int)Math.Ceiling(loadTime.TotalSeconds / stepSeconds));

    /// <summary>The most demand of step <paramref name="k"/> and the next <paramref name="ahead"/>: what an oracle provisions for.</summary>
    private static double Foresee(double[] demand, int k, int ahead)
    {
        var most = 0.0;
        for (var j = k; j <= Math.Min(demand.Length - 1, k + ahead); j++)
        {
            most = Math.Max(most, demand[j]);
        }

        return most;
    }

    /// <summary>The node failures every policy of this run faces.</summary>
    public IReadOnlyList<NodeOutage> Outages { get; }

    public PolicyReport Run(SimulationPolicy policy, Action<SimulationStep>? observe = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var run = new PolicyRun(this, policy);
        for (var k = 0; k < _settings.Steps; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            run.Step(k);
            observe?.Invoke(new SimulationStep(policy.Name, k, (double)k * _settings.StepSeconds, run.Partitions));
        }

        return Report(run, clock.Elapsed.TotalSeconds);
    }

    private PolicyReport Report(PolicyRun run, double wallSeconds)
    {
        var (partitions, tallies, tally) = (run.Partitions, run.Tallies, run.Tally);
        var dedicated = tallies.Where(t => t.Deployment.Class == DeploymentClass.Dedicated).ToArray();
        var serverless = tallies.Where(t => t.Deployment.Class == DeploymentClass.Serverless).ToArray();
        var batch = tallies.Where(t => t.Deployment.Class == DeploymentClass.Batch).ToArray();
        var hours = (decimal)_settings.Steps * _settings.StepSeconds / 3600m;
        var revenue = new ClassFigures<decimal>(Cents(dedicated.Sum(t => t.RevenueUsd)), Cents(serverless.Sum(t => t.RevenueUsd)), Cents(batch.Sum(t => t.RevenueUsd)));
        var revenueUsd = Cents(tallies.Sum(t => t.RevenueUsd));
        var gpuCost = Cents(_fleet.HourlyCostUsd * hours);
        var partnerCost = Cents(serverless.Sum(t => t.PartnerCostUsd));
        var serverlessDemand = serverless.Sum(t => t.DemandTokens);
        var spilled = serverless.Sum(t => t.SpilledTokens);
        var lost = serverless.Sum(t => Math.Max(0, t.SpilledTokens - t.PartnerTokens));
        var worstReserved = dedicated
            .Where(t => t.DueReservedTokens > 0)
            .OrderBy(t => t.ReservedServedShare)
            .ThenBy(t => t.Deployment.Id, StringComparer.Ordinal)
            .FirstOrDefault();
        return new PolicyReport(
            Utilization: PolicyTally.Round(tally.HealthyGpuSeconds <= 0 ? 0 : tally.WorkingGpuSeconds / tally.HealthyGpuSeconds, 6),
            DedicatedServedShare: PolicyTally.Round(DeploymentTally.Share(dedicated.Sum(t => t.ServedDueTokens), dedicated.Sum(t => t.DueTokens)), 6),
            ReservedServedShare: PolicyTally.Round(DeploymentTally.Share(dedicated.Sum(t => t.ServedReservedTokens), dedicated.Sum(t => t.DueReservedTokens)), 6),
            WorstReservedServedShare: PolicyTally.Round(worstReserved?.ReservedServedShare ?? 1, 6),
            WorstReservedDeployment: worstReserved?.Deployment.Id,
            ServerlessSpilledShare: PolicyTally.Round(DeploymentTally.Share(spilled, serverlessDemand, empty: 0), 6),
            ServerlessLostShare: PolicyTally.Round(DeploymentTally.Share(lost, serverlessDemand, empty: 0), 6),
            TimeToCapacity: WaitReport.Of(dedicated.SelectMany(t => t.ShortfallSeconds).ToArray()),
            MarginUsd: revenueUsd - gpuCost - partnerCost,
            RevenueUsd: revenueUsd,
            GpuCostUsd: gpuCost,
            PartnerCostUsd: partnerCost,
            PartnerTokens: DeploymentTally.Whole(serverless.Sum(t => t.PartnerTokens)),
            SharedTokensOnDedicated: DeploymentTally.Whole(dedicated.Sum(t => t.LentTokens)),
            DedicatedTokensOnShared: DeploymentTally.Whole(dedicated.Sum(t => t.BorrowedTokens)),
            Loads: new LoadReport(tallies.Sum(t => t.WarmLoads), tallies.Sum(t => t.ColdLoads), tally.Prefetches, tallies.Sum(t => t.Wakes)),
            DedicatedSloAttainmentForgivingLoadTime: PolicyTally.Round(1 - DeploymentTally.Share(dedicated.Sum(t => t.ForgivenShortfallTokens), dedicated.Sum(t => t.DueTokens), empty: 0), 6),
            ReservedSloAttainmentForgivingLoadTime: PolicyTally.Round(1 - DeploymentTally.Share(dedicated.Sum(t => t.ForgivenShortfallReservedTokens), dedicated.Sum(t => t.DueReservedTokens), empty: 0), 6),
            Preemptions: partitions.Sum(p => p.Scheduler.Preemptions),
            PreemptedReplicas: new PreemptionReport(tally.PreemptedBatch, tally.PreemptedServerless, tally.PreemptedBurst, tally.PreemptedByDedicated),
            SpilledSharedTokens: DeploymentTally.Whole(spilled),
            ServedTokens: new ClassFigures<long>(dedicated.Sum(t => t.Served), serverless.Sum(t => t.Served), batch.Sum(t => t.Served)),
            DueTokens: new ClassFigures<long>(DeploymentTally.Whole(dedicated.Sum(t => t.DueTokens)), DeploymentTally.Whole(serverlessDemand), batch.Sum(t => t.Served)),
            DemandTokens: new ClassFigures<long>(
                DeploymentTally.Whole(dedicated.Sum(t => t.DemandTokens)),
                DeploymentTally.Whole(serverlessDemand),
                DeploymentTally.Whole(batch.Sum(t => t.DemandTokens))),
            RevenueByClassUsd: revenue,
            GpuHours: tally.Hours(),
            NodeFailures: Outages.Count,
            UnplacedDedicatedReplicaSteps: tally.UnplacedDedicatedReplicaSteps,
            Partitions: partitions.Select(p => new PartitionReport(p.Name, p.Nodes.Count, p.Nodes.Sum(n => n.GpuCount), p.Deployments.Select(d => d.Id).ToArray())).ToArray(),
            Deployments: tallies.Select(t => new DeploymentReport(
                t.Deployment.Id,
                t.Deployment.Class.ToString().ToLowerInvariant(),
                t.Deployment.Spec.CustomerId,
                t.Deployment.Spec.Model,
                t.Deployment.Spec.GpusPerReplica,
                t.Deployment.Spec.ReservedReplicas,
                t.Deployment.Spec.MaxReplicas,
                DeploymentTally.Whole(t.DemandTokens),
                t.IsDedicated ? DeploymentTally.Whole(t.DueTokens) : null,
                t.Served,
                t.ServedShare is { } served ? PolicyTally.Round(served, 6) : null,
                t.ReservedServedShare is { } reserved ? PolicyTally.Round(reserved, 6) : null,
                t.IsDedicated ? WaitReport.Of(t.ShortfallSeconds) : null,
                DeploymentTally.Whole(t.SpilledTokens),
                DeploymentTally.Whole(t.PartnerTokens),
                DeploymentTally.Whole(t.BorrowedTokens),
                DeploymentTally.Whole(t.LentTokens),
                t.WarmLoads,
                t.ColdLoads,
                t.AttainmentForgivingLoadTime is { } slo ? PolicyTally.Round(slo, 6) : null,
                t.ReservedAttainmentForgivingLoadTime is { } rslo ? PolicyTally.Round(rslo, 6) : null,
                PolicyTally.Round(t.ReadyReplicaSteps / _settings.Steps, 3),
                t.PeakReplicas,
                Cents(t.RevenueUsd))).ToArray(),
            Hourly: tally.Hourly(),
            WallSeconds: Math.Round(wallSeconds, 3))
        {
            Series = tally.Series(),
        };
    }

    /// <summary>One policy's run: its schedulers, the pending events, and what has been measured so far.</summary>
    private sealed class PolicyRun
    {
        private readonly FleetSimulation _simulation;
        private readonly SimulationPolicy _policy;
        private readonly IReadOnlyList<SimulatedDeployment> _deployments;
        private readonly Dictionary<string, SchedulerPartition> _partitionOfNode = new(StringComparer.Ordinal);
        private readonly Dictionary<string, PlacementNode> _nodeById;
        private readonly Dictionary<string, long> _versions = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _index;
        private readonly CapacityScheduler?[] _schedulerOf;
        private readonly AutoscaleState[] _autoscale;
        private readonly int[] _desired;
        private readonly int?[] _awake;
        private readonly Dictionary<string, PlacedHere> _placed = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<SleepingEngine>> _sleeping = new(StringComparer.Ordinal);
        private readonly List<(string ReplicaId, CapacityScheduler Scheduler, double Offset)> _waking = [];
        private readonly (double At, bool Down, string NodeId)[] _nodeEvents;
        private readonly PriorityQueue<Load, (double At, long Sequence)> _loads = new();
        private readonly PriorityQueue<(string NodeId, string Model, long Epoch), (double At, long Sequence)> _fetches = new();
        private readonly HashSet<(string NodeId, string Model)> _fetching = [];
        private readonly Dictionary<string, NodeCache> _caches = new(StringComparer.Ordinal);
        private readonly Dictionary<string, long> _epochs = new(StringComparer.Ordinal);
        private readonly TimeSpan[] _loadEstimate;
        private readonly Autoscaler[] _autoscalers;
        private readonly HashSet<(string, int)> _unplaced = [];
        private readonly int[] _ready;
        private readonly Dictionary<string, int>[] _readyIn;
        private readonly int[] _held;
        private readonly Dictionary<string, FleetModel> _models;
        private readonly Dictionary<string, ModelRises> _modelRises;
        private int _nextNodeEvent;
        private long _sequence;
        private int _downGpus;

        public PolicyRun(FleetSimulation simulation, SimulationPolicy policy)
        {
            _simulation = simulation;
            _policy = policy;
            _deployments = simulation._fleet.Deployments;
            var stepSeconds = simulation._settings.StepSeconds;

            // A seed of its own for the schedulers' replica ids, apart from the failures' draw.
            Partitions = policy.Partition(simulation._fleet, simulation._nodes, new Random(unchecked(simulation._settings.Seed * 7919 + 17)));
            _nodeById = simulation._nodes.ToDictionary(n => n.NodeId, StringComparer.Ordinal);
            foreach (var partition in Partitions)
            {
                foreach (var node in partition.Nodes)
                {
                    _partitionOfNode[node.NodeId] = partition;
                    _versions[node.NodeId] = 1;
                    partition.Scheduler.SetNode(node, NodeHealth.Ready, NodeScheduling.Schedulable, [], 1);
                }
            }

            _index = Enumerable.Range(0, _deployments.Count).ToDictionary(i => _deployments[i].Id, StringComparer.Ordinal);
            _schedulerOf = new CapacityScheduler?[_deployments.Count];
            foreach (var partition in Partitions)
            {
                foreach (var d in partition.Deployments)
                {
                    _schedulerOf[_index[d.Id]] = partition.Scheduler;
                }
            }

            _autoscale = _deployments.Select(d => Autoscaler.Start(d.Spec)).ToArray();

            // Each deployment's autoscaler looks one expected load ahead, learned from its own loads; it starts from the
            // cold load on the slowest node it may run on.
            _loadEstimate = _deployments.Select(d => d.LoadTime).ToArray();
            _autoscalers = _deployments.Select(d => AutoscalerFor(d.LoadTime)).ToArray();
            foreach (var node in simulation._nodes)
            {
                if (simulation._groupOf[node.NodeId].Storage is { CacheGB: > 0 } storage)
                {
                    _caches[node.NodeId] = new NodeCache(storage.CacheGB);
                }
            }

            _models = simulation._fleet.Models.ToDictionary(m => m.Name, StringComparer.Ordinal);
            foreach (var d in _deployments.Where(d => !_models.ContainsKey(d.Spec.Model)))
            {
                _models[d.Spec.Model] = d.Model ?? new FleetModel(d.Spec.Model, 0, 0, d.LoadTime);
            }
            _modelRises = Partitions.ToDictionary(p => p.Name, _ => new ModelRises(simulation._fleet.ScaleDownDelay), StringComparer.Ordinal);
            _desired = Enumerable.Repeat(-1, _deployments.Count).ToArray();
            _awake = new int?[_deployments.Count];
            _ready = new int[_deployments.Count];
            _readyIn = _deployments.Select(_ => new Dictionary<string, int>(StringComparer.Ordinal)).ToArray();
            _held = new int[_deployments.Count];
            Tallies = _deployments.Select(d => new DeploymentTally(d, stepSeconds)).ToArray();
            Tally = new PolicyTally(simulation._settings.Steps, stepSeconds);

            // At equal times a repair comes before the next failure of the same node.
            _nodeEvents = simulation.Outages
                .SelectMany(o => new[] { (At: o.DownAt, Down: true, o.NodeId), (At: o.UpAt, Down: false, o.NodeId) })
                .OrderBy(e => e.At)
                .ThenBy(e => e.Down ? 1 : 0)
                .ThenBy(e => e.NodeId, StringComparer.Ordinal)
                .ToArray();
        }

        public IReadOnlyList<SchedulerPartition> Partitions { get; }

        public DeploymentTally[] Tallies { get; }

        public PolicyTally Tally { get; }

        public void Step(int k)
        {
            var seconds = (double)k * _simulation._settings.StepSeconds;
            ApplyEvents(seconds);
            Autoscale(k, FleetSimulation.Epoch.AddSeconds(seconds));
            Settle(seconds);
            Prestage(seconds);
            Measure(k);
        }

        /// <summary>
        /// A replica loading on a node: ready at its time, and a cold load leaves its weights in the node's cache. A wake that
        /// outlasts the step it started in waits here too (<paramref name="Wake"/>: the deployment learns nothing of load times from it).
        /// </summary>
        private sealed record Load(string ReplicaId, CapacityScheduler Scheduler, string NodeId, int Deployment, bool Cold, double StartedAt, long Epoch, bool Wake = false);

        /// <summary>A replica the simulation placed: what its agent would know when the scheduler releases it.</summary>
        private sealed record PlacedHere(int Deployment, string NodeId, int[] Gpus, ReplicaTier Tier)
        {
            public bool Ready { get; set; }
        }

        /// <summary>A deployment's autoscaler for an expected load time: its horizon is that load in whole steps.</summary>
        private Autoscaler AutoscalerFor(TimeSpan loadTime)
        {
            var stepSeconds = _simulation._settings.StepSeconds;
            var horizon = TimeSpan.FromSeconds(LoadSteps(loadTime, stepSeconds) * stepSeconds);
            return new Autoscaler(_simulation._fleet.ScaleDownDelay, Forecast.For(horizon));
        }

        /// <summary>
        /// The scheduler's pre-staging (<see cref="CapacityScheduler.Prestage"/>): each node's prefetch list, carried out the
        /// way an agent would, one download per model at the node's object-store bandwidth, in the background. At the
        /// start of the run they are done already: the day starts mid-operation.
        /// </summary>
        private void Prestage(double seconds)
        {
            if (_caches.Count == 0)
            {
                return;
            }

            foreach (var partition in Partitions)
            {
                foreach (var (nodeId, models) in partition.Scheduler.Prestage())
                {
                    if (!_caches.TryGetValue(nodeId, out var cache))
                    {
                        continue;
                    }

                    foreach (var model in models)
                    {
                        if (cache.Contains(model) || !_fetching.Add((nodeId, model)) || !_models.TryGetValue(model, out var m))
                        {
                            continue;
                        }

                        var download = _simulation._fleet.Loading.DownloadTime(m, _simulation._groupOf[nodeId]).TotalSeconds;
                        Tally.Prefetches++;
                        _fetches.Enqueue((nodeId, model, _epochs.GetValueOrDefault(nodeId)), (seconds == 0 ? 0 : seconds + download, _sequence++));
                    }
                }
            }

            if (seconds == 0)
            {
                CompleteFetches(0);
            }
        }

        private void CompleteFetches(double seconds)
        {
            while (_fetches.TryPeek(out var fetch, out var at) && at.At <= seconds)
            {
                _fetches.Dequeue();
                _fetching.Remove((fetch.NodeId, fetch.Model));

                // A node that failed meanwhile lost the download.
                if (fetch.Epoch == _epochs.GetValueOrDefault(fetch.NodeId) && _models.TryGetValue(fetch.Model, out var m))
                {
                    Cache(fetch.NodeId, m);
                }
            }
        }

        /// <summary>Puts a model's weights in a node's cache and tells the node's scheduler what the node now holds warm.</summary>
        private void Cache(string nodeId, FleetModel model)
        {
            if (!_caches.TryGetValue(nodeId, out var cache))
            {
                return;
            }

            var scheduler = _partitionOfNode[nodeId].Scheduler;
            var replicas = scheduler.ReplicasOn(nodeId);
            var inUse = replicas.Select(r => r.Model).ToHashSet(StringComparer.Ordinal);
            if (!cache.Add(model.Name, model.WeightsGB, inUse))
            {
                return;
            }

            // As the node grain reports a change of the node's cache: the node as it is, with its warm models.
            if (scheduler.Snapshot.Find(nodeId) is { Schedulable: true } current)
            {
                var node = current with
                {
                    WarmModels = cache.Models.Select(c => new WarmModel(c.Model, c.Bytes)).ToArray(),
                    CacheFreeBytes = cache.FreeBytes,
                };
                scheduler.SetNode(node, NodeHealth.Ready, NodeScheduling.Schedulable, replicas, ++_versions[nodeId]);
            }
        }

        /// <summary>Node failures and repairs, then loaded replicas, up to <paramref name="seconds"/>.</summary>
        private void ApplyEvents(double seconds)
        {
            while (_nextNodeEvent < _nodeEvents.Length && _nodeEvents[_nextNodeEvent].At <= seconds)
            {
                var (_, down, nodeId) = _nodeEvents[_nextNodeEvent++];
                var node = _nodeById[nodeId];
                var version = ++_versions[nodeId];
                var scheduler = _partitionOfNode[nodeId].Scheduler;
                if (down)
                {
                    // As the node grain reports a node that stopped heartbeating: down, not schedulable, its replicas gone.
                    scheduler.SetNode(node with { Schedulable = false, Slots = NodeSlots.Empty(node.GpuCount) }, NodeHealth.Down, NodeScheduling.Schedulable, [], version);
                    _downGpus += node.GpuCount;
                    _epochs[nodeId] = _epochs.GetValueOrDefault(nodeId) + 1;
                    if (_caches.TryGetValue(nodeId, out var cache))
                    {
                        cache.Clear();
                    }

                    _sleeping.Remove(nodeId);
                    foreach (var lost in _placed.Where(p => p.Value.NodeId == nodeId).Select(p => p.Key).ToArray())
                    {
                        _placed.Remove(lost);
                    }
                }
                else
                {
                    scheduler.SetNode(node, NodeHealth.Ready, NodeScheduling.Schedulable, [], version);
                    _downGpus -= node.GpuCount;
                }
            }

            CompleteFetches(seconds);

            // A replica preempted or lost with its node before it loaded is unknown to the scheduler by now: nothing happens.
            while (_loads.TryPeek(out var load, out var at) && at.At <= seconds)
            {
                _loads.Dequeue();
                if (!load.Scheduler.SetReplicaState(load.ReplicaId, ReplicaState.Ready))
                {
                    continue;
                }

                if (_placed.TryGetValue(load.ReplicaId, out var placed))
                {
                    placed.Ready = true;
                }

                if (load.Wake)
                {
                    continue;
                }

                // The deployment learns how long its loads take; its autoscaler looks that far ahead.
                var i = load.Deployment;
                var estimate = LoadTimeEstimate.Next(_loadEstimate[i], TimeSpan.FromSeconds(at.At - load.StartedAt));
                if (LoadSteps(estimate, _simulation._settings.StepSeconds) != LoadSteps(_loadEstimate[i], _simulation._settings.StepSeconds))
                {
                    _autoscalers[i] = AutoscalerFor(estimate);
                }

                _loadEstimate[i] = estimate;
                if (load.Cold && load.Epoch == _epochs.GetValueOrDefault(load.NodeId) && _deployments[i].Model is { } model)
                {
                    Cache(load.NodeId, model);
                }
            }
        }

        /// <summary>
        /// Each deployment's demand through the autoscaler, then the policy, into its scheduler. Where the policy shares
        /// slack, a serverless deployment is scaled on its demand less the spare its model's dedicated deployments keep
        /// (<see cref="ScalingDemand"/>), as the product's scheduler computes it.
        /// </summary>
        private void Autoscale(int k, DateTimeOffset now)
        {
            CountReplicas();

            // Dedicated and batch first: what dedicated deployments keep decides the slack serverless may count on.
            for (var i = 0; i < _deployments.Count; i++)
            {
                if (_deployments[i].Class != DeploymentClass.Serverless)
                {
                    Scale(i, k, now, scaling: null);
                }
            }

            var slack = _policy.SharesDedicatedSlack ? ScalingDemand(k) : null;
            for (var i = 0; i < _deployments.Count; i++)
            {
                if (_deployments[i].Class == DeploymentClass.Serverless)
                {
                    Scale(i, k, now, slack);
                }
            }

            if (_policy.SleepsHeadroom)
            {
                LearnModelRises(k, now);
            }
        }

        /// <summary>
        /// Each pool's (<see cref="ModelHeadroom.PoolOf"/>: a model within its deployments' regions) summed demand into its
        /// scheduler's <see cref="ModelRises"/>, as the product's scheduler learns it from the demand its deployments report:
        /// the quick rise the pool's running replicas keep room for (<see cref="ModelHeadroom"/>).
        /// </summary>
        private void LearnModelRises(int k, DateTimeOffset now)
        {
            foreach (var partition in Partitions)
            {
                var rises = _modelRises[partition.Name];
                var pools = ModelHeadroom.PoolDemands(partition.Deployments
                    .Where(d => d.Class is DeploymentClass.Dedicated or DeploymentClass.Serverless)
                    .Select(d => (d.Spec, (decimal)Math.Round(_simulation._demand[_index[d.Id]][k], 3))));
                foreach (var (pool, demand) in pools)
                {
                    partition.Scheduler.SetModelRise(pool, rises.Observe(pool, demand, now));
                }
            }
        }

        private void Scale(int i, int k, DateTimeOffset now, IReadOnlyDictionary<string, decimal>? scaling)
        {
            if (_schedulerOf[i] is not { } scheduler)
            {
                return;
            }

            var d = _deployments[i];

            // Batch: a backlog that is always there, which the autoscaler answers with the maximum.
            var demand = _simulation._demand[i][k];
            var foreseen = Foresee(_simulation._demand[i], k, LoadSteps(_loadEstimate[i], _simulation._settings.StepSeconds));
            if (scaling is not null && scaling.TryGetValue(d.Id, out var net))
            {
                var share = Math.Max(0, demand - (double)net);
                demand = (double)net;
                foreseen = Math.Max(0, foreseen - share);
            }

            var signal = d.Class == DeploymentClass.Batch ? 1m : (decimal)Math.Round(demand, 3);
            _autoscale[i] = _autoscalers[i].Next(_autoscale[i], d.Spec, signal, now);
            var desired = _policy.Desired(d, _autoscale[i].Desired, Autoscaler.Wanted(d.Spec, (decimal)Math.Round(foreseen, 3)));
            var awake = _policy.SleepsHeadroom ? _autoscalers[i].Awake(_autoscale[i], d.Spec, now) : null;
            if (awake is not null && _autoscalers[i].AwakeForDemand(_autoscale[i], d.Spec, now) is { } forDemand)
            {
                // What the deployment grain tells the scheduler with its desired count: the model's headroom is pooled there.
                scheduler.SetHeadroom(d.Id, new DeploymentHeadroom((decimal)Math.Round(_simulation._demand[i][k], 3), forDemand, _autoscale[i].QuickRise));
            }

            if (desired != _desired[i] || awake != _awake[i])
            {
                _desired[i] = desired;
                _awake[i] = awake;
                scheduler.SetDeployment(new ScheduledDeployment(d.Spec, desired, 1, awake));
            }
        }

        /// <summary>
        /// What each serverless deployment scales on (<see cref="SlackSharing.ScalingDemand"/>): its demand less its share of
        /// the spare its model's dedicated replicas keep, as the product's scheduler computes it. Dedicated deployments
        /// count with the ready replicas they keep (<see cref="Autoscaler.Keeps"/>), less the spare kept for their own quick
        /// rises (<see cref="AutoscaleState.QuickRise"/>).
        /// </summary>
        private IReadOnlyDictionary<string, decimal> ScalingDemand(int k)
        {
            var inputs = new List<ModelDemand>(_deployments.Count);
            for (var i = 0; i < _deployments.Count; i++)
            {
                var d = _deployments[i];
                if (d.Class == DeploymentClass.Batch)
                {
                    continue;
                }

                var ready = d.Class == DeploymentClass.Dedicated ? Math.Min(_ready[i], Autoscaler.Keeps(_autoscale[i])) : _ready[i];
                // Liquid keeps back the spare for its quickest rises; the oracle, the spare its foreseen rise within a load
                // time takes back (counting on it would leave serverless short when that rise comes).
                var kept = d.Class != DeploymentClass.Dedicated ? 0m
                    : _policy.SleepsHeadroom ? _autoscale[i].QuickRise
                    : _policy.Foresees ? (decimal)Math.Round(Foresee(_simulation._demand[i], k, LoadSteps(_loadEstimate[i], _simulation._settings.StepSeconds)) - _simulation._demand[i][k], 3)
                    : 0m;
                inputs.Add(new ModelDemand(d.Id, d.Spec.Model, d.Class, (decimal)Math.Round(_simulation._demand[i][k], 3), ready, d.Spec.TokensPerSecondPerReplica, kept, d.Spec.Regions, ReadyIn(i)));
            }

            return SlackSharing.ScalingDemand(inputs);
        }

        /// <summary>The project's scheduler decides; each claim is taken as done and its replica starts loading.</summary>
        private void Settle(double seconds)
        {
            _unplaced.Clear();
            foreach (var partition in Partitions)
            {
                // Each pass's decisions are carried out before the next, so the nodes' reports of engines put to sleep reach it.
                partition.Scheduler.Settle(afterPass: decisions =>
                {
                    foreach (var decision in decisions)
                    {
                        Apply(partition.Scheduler, decision, seconds);
                    }
                });
            }
        }

        /// <summary>One decision of the scheduler, taken as done: a release (the replica may go to sleep), a claim (a load or a wake), or a replica with no room.</summary>
        private void Apply(CapacityScheduler scheduler, SchedulingDecision decision, double seconds)
        {
            switch (decision)
            {
                case ReleaseDecision release:
                    Release(scheduler, release);
                    break;
                case ClaimDecision claim when seconds == 0:
                    // The day starts mid-operation: what the first step asks for was loaded before it, and its
                    // node holds the weights.
                    scheduler.SetReplicaState(claim.Replica.ReplicaId, ReplicaState.Ready);
                    Placed(claim).Ready = true;
                    CountPreempted(scheduler, claim);
                    if (_deployments[_index[claim.Replica.DeploymentId]].Model is { } startModel)
                    {
                        Cache(claim.Claim.NodeId, startModel);
                    }

                    break;
                case ClaimDecision claim:
                    Placed(claim);
                    if (claim.Wakes)
                    {
                        StartWake(scheduler, claim, seconds);
                    }
                    else
                    {
                        StartLoad(scheduler, claim, seconds);
                    }

                    CountPreempted(scheduler, claim);
                    break;
                case UnplacedDecision { Tier: ReplicaTier.Reserved or ReplicaTier.Burst } missed:
                    // Each pass of a settle reports it again: count a replica once a step.
                    if (_unplaced.Add((missed.DeploymentId, missed.Ordinal)))
                    {
                        Tally.UnplacedDedicatedReplicaSteps++;
                    }

                    break;
            }
        }

        private PlacedHere Placed(ClaimDecision claim)
        {
            var placed = new PlacedHere(_index[claim.Replica.DeploymentId], claim.Claim.NodeId, claim.Replica.GpuIndices, claim.Replica.Tier);
            _placed[claim.Replica.ReplicaId] = placed;
            return placed;
        }

        /// <summary>
        /// A released replica, as its agent handles it: a ready dedicated replica scaled down goes to sleep on its node when
        /// the node's host memory for sleeping engines holds its weights (the engines that slept longest are stopped to make
        /// room); anything else stops. The node reports its sleeping engines to its scheduler, as its grain would.
        /// </summary>
        private void Release(CapacityScheduler scheduler, ReleaseDecision release)
        {
            if (!_placed.Remove(release.ReplicaId, out var placed) || release.Reason != ReleaseReason.ScaledDown)
            {
                return;
            }

            Sleep(scheduler, placed, release.NodeId);
        }

        /// <summary>
        /// A ready replica leaving its GPUs (released on a scale-down, or a batch replica preempted) goes to sleep on its node
        /// when the node's host memory for sleeping engines holds its weights, as its agent does (<see cref="SleepingEngine.Admit"/>).
        /// </summary>
        private void Sleep(CapacityScheduler scheduler, PlacedHere placed, string nodeId)
        {
            if (!placed.Ready || _deployments[placed.Deployment].Model is not { } model
                || scheduler.Snapshot.Find(nodeId) is not { Schedulable: true } node)
            {
                return;
            }

            var budget = (long)(_simulation._fleet.Loading.SleepGB(_simulation._groupOf[nodeId]) * 1e9);
            var bytes = (long)(model.WeightsGB * 1e9);
            var engine = new SleepingEngine(_deployments[placed.Deployment].Id, model.Name, placed.Gpus.Order().ToArray(), bytes, placed.Tier == ReplicaTier.Batch);
            if (bytes <= 0 || SleepingEngine.Admit(_sleeping.GetValueOrDefault(nodeId) ?? [], engine, budget) is not { } engines)
            {
                return;
            }

            _sleeping[nodeId] = engines;
            ReportSleeping(scheduler, node, engines);
        }

        private void ReportSleeping(CapacityScheduler scheduler, PlacementNode node, List<SleepingEngine> engines) =>
            scheduler.SetNode(node with { Sleeping = [.. engines] }, NodeHealth.Ready, NodeScheduling.Schedulable, scheduler.ReplicasOn(node.NodeId), ++_versions[node.NodeId]);

        /// <summary>
        /// A claim on a sleeping engine's GPUs wakes it: the instruction reaches the agent <see cref="FleetLoading.ReactionSeconds"/>
        /// into the step, and the weights go back to the GPUs over PCIe (<see cref="FleetLoading.WakeTime"/>). A wake that
        /// finishes within the step serves the rest of it (<see cref="Measure"/> splits the step there).
        /// </summary>
        private void StartWake(CapacityScheduler scheduler, ClaimDecision claim, double seconds)
        {
            var i = _index[claim.Replica.DeploymentId];
            var nodeId = claim.Claim.NodeId;
            if (_sleeping.TryGetValue(nodeId, out var engines))
            {
                engines.RemoveAll(e => e.Wakes(claim.Replica.DeploymentId, claim.Claim.GpuIndices));
            }

            Tallies[i].Wakes++;
            var loading = _simulation._fleet.Loading;
            var wake = _deployments[i].Model is { } model ? loading.WakeTime(model, _simulation._groupOf[nodeId], claim.Claim.GpuIndices.Length).TotalSeconds : loading.EngineWakeSeconds;
            var offset = loading.ReactionSeconds + wake;
            if (offset < _simulation._settings.StepSeconds)
            {
                _waking.Add((claim.Replica.ReplicaId, scheduler, offset));
            }
            else
            {
                _loads.Enqueue(new Load(claim.Replica.ReplicaId, scheduler, nodeId, i, false, seconds, _epochs.GetValueOrDefault(nodeId), Wake: true), (seconds + offset, _sequence++));
            }
        }

        /// <summary>A claimed replica starts loading: from the node's cache when it holds the model's weights, from the object store otherwise.</summary>
        private void StartLoad(CapacityScheduler scheduler, ClaimDecision claim, double seconds)
        {
            var i = _index[claim.Replica.DeploymentId];
            var d = _deployments[i];
            var nodeId = claim.Claim.NodeId;
            var warm = _caches.TryGetValue(nodeId, out var cache) && cache.Contains(claim.Replica.Model);
            if (warm)
            {
                cache!.Touch(claim.Replica.Model);
            }

            var loadTime = d.Model is { } model
                ? _simulation._fleet.Loading.LoadTime(model, _simulation._groupOf[nodeId], warm)
                : d.LoadTime;
            Tallies[i].CountLoad(warm);
            _loads.Enqueue(new Load(claim.Replica.ReplicaId, scheduler, nodeId, i, !warm, seconds, _epochs.GetValueOrDefault(nodeId)), (seconds + loadTime.TotalSeconds, _sequence++));
        }

        private void CountPreempted(CapacityScheduler scheduler, ClaimDecision claim)
        {
            foreach (var victim in claim.Preempted)
            {
                if (_placed.Remove(victim.ReplicaId, out var placed) && victim.Tier == ReplicaTier.Batch)
                {
                    Sleep(scheduler, placed, claim.Claim.NodeId);
                }

                switch (victim.Tier)
                {
                    case ReplicaTier.Batch: Tally.PreemptedBatch++; break;
                    case ReplicaTier.Serverless: Tally.PreemptedServerless++; break;
                    default: Tally.PreemptedBurst++; break;
                }
            }

            if (claim.Replica.Tier is ReplicaTier.Reserved or ReplicaTier.Burst)
            {
                Tally.PreemptedByDedicated += claim.Preempted.Length;
            }
        }

        /// <summary>Ready and GPU-holding replicas of each deployment, and GPUs by what holds them, as the schedulers now hold them.</summary>
        private (int Dedicated, int Shared, int Loading) CountReplicas()
        {
            Array.Clear(_ready);
            Array.Clear(_held);
            foreach (var regions in _readyIn)
            {
                regions.Clear();
            }

            int dedicatedGpus = 0, sharedGpus = 0, loadingGpus = 0;
            foreach (var partition in Partitions)
            {
                foreach (var replica in partition.Scheduler.Replicas())
                {
                    var gpus = replica.Replica.GpuIndices.Length;
                    if (replica.Replica.Tier.IsShared())
                    {
                        sharedGpus += gpus;
                    }
                    else
                    {
                        dedicatedGpus += gpus;
                    }

                    var i = _index[replica.Replica.DeploymentId];
                    _held[i]++;
                    if (replica.Replica.State == ReplicaState.Ready && replica.NodeHealth == NodeHealth.Ready)
                    {
                        _ready[i]++;
                        var region = _nodeById[replica.NodeId].Region;
                        _readyIn[i][region] = _readyIn[i].GetValueOrDefault(region) + 1;
                    }
                    else
                    {
                        loadingGpus += gpus;
                    }
                }
            }

            return (dedicatedGpus, sharedGpus, loadingGpus);
        }

        /// <summary>
        /// The step as the schedulers now hold it: ready replicas serve it, loading ones do not. Each deployment is served
        /// by its own ready replicas first; where the policy shares, requests then move between replicas of a model as the
        /// gateway's routes send them (<see cref="ShareSlack"/>); serverless demand left over goes to partners of its model
        /// (<see cref="RouteToPartners"/>), the rest is lost.
        /// </summary>
        private void Measure(int k)
        {
            var stepSeconds = (double)_simulation._settings.StepSeconds;
            if (_waking.Count == 0)
            {
                MeasurePart(k, stepSeconds, opens: true, closes: true);
                return;
            }

            // Wakes finish within the step: each part of it is served by the replicas ready then.
            var at = 0.0;
            foreach (var group in _waking.GroupBy(w => w.Offset).OrderBy(g => g.Key))
            {
                if (group.Key > at)
                {
                    MeasurePart(k, group.Key - at, opens: at == 0, closes: false);
                    at = group.Key;
                }

                foreach (var (replicaId, scheduler, _) in group)
                {
                    if (scheduler.SetReplicaState(replicaId, ReplicaState.Ready) && _placed.TryGetValue(replicaId, out var placed))
                    {
                        placed.Ready = true;
                    }
                }
            }

            _waking.Clear();
            MeasurePart(k, stepSeconds - at, opens: at == 0, closes: true);
        }

        private void MeasurePart(int k, double seconds, bool opens, bool closes)
        {
            var (dedicatedGpus, sharedGpus, loadingGpus) = CountReplicas();
            var n = _deployments.Count;
            var demand = new double[n];
            var own = new double[n];
            var onSlack = new double[n];
            var lent = new double[n];
            for (var i = 0; i < n; i++)
            {
                var spec = _deployments[i].Spec;
                var capacity = _ready[i] * (double)spec.TokensPerSecondPerReplica;
                demand[i] = _simulation._demand[i][k];
                own[i] = spec.Class == DeploymentClass.Batch ? capacity : Math.Min(demand[i], capacity);
            }

            if (_policy.SharesDedicatedSlack)
            {
                ShareSlack(demand, own, onSlack, lent);
            }

            var (toPartners, partnerUsd) = RouteToPartners(demand, own, onSlack, seconds);
            var working = 0.0;
            for (var i = 0; i < n; i++)
            {
                var spec = _deployments[i].Spec;
                Tallies[i].Step(demand[i], own[i], onSlack[i], lent[i], toPartners[i], partnerUsd[i], _ready[i], _held[i], seconds, opens, closes);

                // GPUs count as working in proportion to the tokens they served, their own and the shared ones they took.
                working += spec.Class == DeploymentClass.Batch
                    ? _ready[i] * spec.GpusPerReplica
                    : spec.GpusPerReplica * (own[i] + lent[i]) / (double)spec.TokensPerSecondPerReplica;
            }

            var gpuCount = _simulation._fleet.GpuCount;
            Tally.Step(k, working, dedicatedGpus, sharedGpus, loadingGpus, gpuCount - _downGpus, _downGpus, seconds);
        }

        /// <summary>
        /// The product's sharing of replicas within a model (<see cref="SlackSharing.Allocate"/>): a dedicated rise on batch,
        /// serverless spare and other dedicated spare; serverless overflow on dedicated spare; batch on what is left. Batch has
        /// a backlog that never runs out: it asks for all the model's capacity.
        /// </summary>
        private void ShareSlack(double[] demand, double[] own, double[] onSlack, double[] lent)
        {
            var capacityOfModel = new Dictionary<string, decimal>(StringComparer.Ordinal);
            for (var i = 0; i < _deployments.Count; i++)
            {
                var spec = _deployments[i].Spec;
                capacityOfModel[spec.Model] = capacityOfModel.GetValueOrDefault(spec.Model) + (_ready[i] * spec.TokensPerSecondPerReplica);
            }

            var inputs = new ModelDemand[_deployments.Count];
            for (var i = 0; i < _deployments.Count; i++)
            {
                var d = _deployments[i];
                var asked = d.Class == DeploymentClass.Batch
                    ? capacityOfModel[d.Spec.Model]
                    : (decimal)Math.Round(demand[i], 3);
                inputs[i] = new ModelDemand(d.Id, d.Spec.Model, d.Class, asked, _ready[i], d.Spec.TokensPerSecondPerReplica, 0, d.Spec.Regions, ReadyIn(i));
            }

            var allocation = SlackSharing.Allocate(inputs);
            foreach (var grant in allocation.Grants)
            {
                onSlack[_index[grant.BorrowerId]] += (double)grant.TokensPerSecond;
                lent[_index[grant.LenderId]] += (double)grant.TokensPerSecond;
            }

            // Batch replicas that served a dedicated overflow did not serve batch meanwhile.
            for (var i = 0; i < _deployments.Count; i++)
            {
                if (_deployments[i].Class == DeploymentClass.Batch)
                {
                    own[i] = Math.Max(0, own[i] - lent[i]);
                }
            }
        }

        /// <summary>Where a deployment's ready replicas are, by region, as the product's scheduler tells the gateway.</summary>
        private RegionReplicas[] ReadyIn(int i) =>
            _readyIn[i].OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => new RegionReplicas(r.Key, r.Value)).ToArray();

        /// <summary>
        /// Serverless demand no replica served goes to partners of its model, as the gateway's routes send it
        /// (<see cref="PartnerRouting.Allocate"/>: cheapest first, each up to its capacity, shared by the deployments).
        /// </summary>
        private (double[] Tokens, decimal[] Usd) RouteToPartners(double[] demand, double[] own, double[] onSlack, double seconds)
        {
            var tokens = new double[_deployments.Count];
            var usd = new decimal[_deployments.Count];
            var partners = _simulation._fleet.Partners;
            if (partners.Count == 0)
            {
                return (tokens, usd);
            }

            var overflows = Enumerable.Range(0, _deployments.Count)
                .Where(i => _deployments[i].Class == DeploymentClass.Serverless)
                .Select(i => (_deployments[i].Id, _deployments[i].Spec.Model, (decimal)Math.Round(Math.Max(0, demand[i] - own[i] - onSlack[i]), 3)))
                .ToArray();
            foreach (var (id, shares) in PartnerRouting.Allocate(overflows, partners))
            {
                var i = _index[id];
                tokens[i] = (double)shares.Sum(s => s.TokensPerSecond);
                usd[i] = shares.Sum(s => s.UsdPerSecond) * (decimal)seconds;
            }

            return (tokens, usd);
        }
    }

    private static decimal Cents(decimal usd) => Math.Round(usd, 2, MidpointRounding.AwayFromZero);
}
