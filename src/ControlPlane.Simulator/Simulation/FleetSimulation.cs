using System.Diagnostics;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
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
    private readonly Autoscaler _autoscaler;

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
        _autoscaler = new Autoscaler(fleet.ScaleDownDelay);
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
        Outages = FailureSchedule.Draw(_nodes.Select(n => n.NodeId), fleet.Failures, settings.HorizonSeconds, new Random(settings.Seed));
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
        return new PolicyReport(
            Utilization: PolicyTally.Round(tally.HealthyGpuSeconds <= 0 ? 0 : tally.WorkingGpuSeconds / tally.HealthyGpuSeconds, 6),
            DedicatedSloAttainment: PolicyTally.Round(DeploymentTally.Attainment(dedicated.Sum(t => t.ShortfallTokens), dedicated.Sum(t => t.DueTokens)), 6),
            DedicatedReservedSloAttainment: PolicyTally.Round(DeploymentTally.Attainment(dedicated.Sum(t => t.ShortfallReservedTokens), dedicated.Sum(t => t.DueReservedTokens)), 6),
            Preemptions: partitions.Sum(p => p.Scheduler.Preemptions),
            PreemptedReplicas: new PreemptionReport(tally.PreemptedBatch, tally.PreemptedServerless, tally.PreemptedBurst, tally.PreemptedByDedicated),
            SpilledSharedTokens: DeploymentTally.Whole(serverless.Sum(t => t.SpilledTokens)),
            GpuCostUsd: Cents(_fleet.HourlyCostUsd * hours),
            RevenueUsd: Cents(tallies.Sum(t => t.RevenueUsd)),
            ServedTokens: new ClassFigures<long>(dedicated.Sum(t => t.Served), serverless.Sum(t => t.Served), batch.Sum(t => t.Served)),
            DemandTokens: new ClassFigures<long>(
                DeploymentTally.Whole(dedicated.Sum(t => t.DemandTokens)),
                DeploymentTally.Whole(serverless.Sum(t => t.DemandTokens)),
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
                t.Served,
                DeploymentTally.Whole(t.SpilledTokens),
                t.SloAttainment is { } slo ? PolicyTally.Round(slo, 6) : null,
                t.ReservedSloAttainment is { } reserved ? PolicyTally.Round(reserved, 6) : null,
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
        private readonly (double At, bool Down, string NodeId)[] _nodeEvents;
        private readonly PriorityQueue<(string ReplicaId, CapacityScheduler Scheduler), (double At, long Sequence)> _loads = new();
        private readonly HashSet<(string, int)> _unplaced = [];
        private readonly int[] _ready;
        private readonly int[] _held;
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
            _desired = Enumerable.Repeat(-1, _deployments.Count).ToArray();
            _ready = new int[_deployments.Count];
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
            Measure(k);
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
                }
                else
                {
                    scheduler.SetNode(node, NodeHealth.Ready, NodeScheduling.Schedulable, [], version);
                    _downGpus -= node.GpuCount;
                }
            }

            // A replica preempted or lost with its node before it loaded is unknown to the scheduler by now: nothing happens.
            while (_loads.TryPeek(out var load, out var at) && at.At <= seconds)
            {
                _loads.Dequeue();
                load.Scheduler.SetReplicaState(load.ReplicaId, ReplicaState.Ready);
            }
        }

        /// <summary>Each deployment's demand through the autoscaler, then the policy, into its scheduler.</summary>
        private void Autoscale(int k, DateTimeOffset now)
        {
            for (var i = 0; i < _deployments.Count; i++)
            {
                if (_schedulerOf[i] is not { } scheduler)
                {
                    continue;
                }

                var d = _deployments[i];

                // Batch: a backlog that is always there, which the autoscaler answers with the maximum.
                var demand = d.Class == DeploymentClass.Batch ? 1m : (decimal)Math.Round(_simulation._demand[i][k], 3);
                _autoscale[i] = _simulation._autoscaler.Next(_autoscale[i], d.Spec, demand, now);
                var desired = _policy.Desired(d, _autoscale[i].Desired);
                if (desired != _desired[i])
                {
                    _desired[i] = desired;
                    scheduler.SetDeployment(new ScheduledDeployment(d.Spec, desired, 1));
                }
            }
        }

        /// <summary>The project's scheduler decides; each claim is taken as done and its replica starts loading.</summary>
        private void Settle(double seconds)
        {
            _unplaced.Clear();
            foreach (var partition in Partitions)
            {
                foreach (var decision in partition.Scheduler.Settle())
                {
                    switch (decision)
                    {
                        case ClaimDecision claim:
                            var loadTime = _deployments[_index[claim.Replica.DeploymentId]].LoadTime.TotalSeconds;
                            _loads.Enqueue((claim.Replica.ReplicaId, partition.Scheduler), (seconds + loadTime, _sequence++));
                            CountPreempted(claim);
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
            }
        }

        private void CountPreempted(ClaimDecision claim)
        {
            foreach (var victim in claim.Preempted)
            {
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

        /// <summary>The step as the schedulers now hold it: ready replicas serve it, loading ones do not.</summary>
        private void Measure(int k)
        {
            Array.Clear(_ready);
            Array.Clear(_held);
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
                    }
                    else
                    {
                        loadingGpus += gpus;
                    }
                }
            }

            var working = 0.0;
            var stepSeconds = _simulation._settings.StepSeconds;
            for (var i = 0; i < _deployments.Count; i++)
            {
                working += Tallies[i].Step(_simulation._demand[i][k], _ready[i], _held[i], stepSeconds);
            }

            var gpuCount = _simulation._fleet.GpuCount;
            Tally.Step(k, working, dedicatedGpus, sharedGpus, loadingGpus, gpuCount - _downGpus, _downGpus);
        }
    }

    private static decimal Cents(decimal usd) => Math.Round(usd, 2, MidpointRounding.AwayFromZero);
}
