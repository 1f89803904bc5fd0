using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Placement;
using Perfolizer.Mathematics.OutlierDetection;

namespace ControlPlane.Benchmarks.Placement;

/// <summary>
/// The distribution of single placement decisions (p50, p95, p99), each timed on its own: every invocation
/// takes the next of 1,024 replicas drawn at random (serverless and batch replicas of 1 or 2 GPUs, dedicated
/// burst replicas of 2 to 8 GPUs, reserved 4-GPU replicas pinned to a region), plans it on
/// <see cref="PlacementFleet"/>, applies the claim (preempting its victims) and puts the node back, so every
/// decision sees the same fleet. Outliers are kept: they are what p99 is about.
/// <para>
/// The baseline, in the same run, is the least a planner without an index must do for the same replica: look at
/// every node once for one with enough free GPUs of the right kind (it does not even search for preemptions).
/// Compare it with <see cref="PlanNextReplica"/>; <see cref="PlaceNextReplica"/> adds the claim and the restore.
/// </para>
/// </summary>
[Config(typeof(Config))]
public class PlacementLatencyBenchmarks
{
    private const int Decisions = 1_024;

    private FleetSnapshot _snapshot = null!;
    private PlacementNode[] _nodes = null!;
    private (DeploymentSpec Spec, ReplicaTier Tier)[] _replicas = null!;
    private int _next;

    [Params(1_000, 10_000, 100_000)]
    public int Gpus { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _snapshot = PlacementFleet.Create(Gpus, seed: 42);
        _nodes = _snapshot.Nodes.ToArray();
        var random = new Random(7);
        _replicas = Enumerable.Range(0, Decisions).Select(_ => random.Next(10) switch
        {
            < 3 => (PlacementFleet.Spec("serverless-8b", DeploymentClass.Serverless, gpus: 1, minMemoryGiB: 24), ReplicaTier.Serverless),
            < 5 => (PlacementFleet.Spec("batch-8b", DeploymentClass.Batch, gpus: random.Next(1, 3), minMemoryGiB: 24), ReplicaTier.Batch),
            < 8 => (PlacementFleet.Spec("acme-70b", DeploymentClass.Dedicated, gpus: 2 << random.Next(3), minMemoryGiB: 80), ReplicaTier.Burst),
            _ => (PlacementFleet.Spec("globex-70b", DeploymentClass.Dedicated, gpus: 4, minMemoryGiB: 80) with { Regions = [PlacementFleet.Regions[random.Next(3)]] }, ReplicaTier.Reserved),
        }).ToArray();
    }

    /// <summary>One decision of the mix: which node and GPUs (and which victims), without claiming them.</summary>
    [Benchmark]
    public GpuClaim? PlanNextReplica()
    {
        var (spec, tier) = _replicas[_next++ % Decisions];
        return PlacementPlanner.Plan(_snapshot, spec, tier);
    }

    /// <summary>One decision of the mix, as the scheduler makes it: plan, claim, and (for the next one) put the node back.</summary>
    [Benchmark]
    public ClaimOutcome? PlaceNextReplica()
    {
        var (spec, tier) = _replicas[_next++ % Decisions];
        if (PlacementPlanner.Plan(_snapshot, spec, tier) is not { } claim)
        {
            return null;
        }

        var before = _snapshot.Find(claim.NodeId)!;
        var outcome = _snapshot.Apply(new GpuHolder($"{spec.DeploymentId}/{_next}", spec.DeploymentId, tier), claim);
        _snapshot.Upsert(before);
        return outcome;
    }

    /// <summary>The same replica, by looking at every node once for enough free GPUs of the right kind.</summary>
    [Benchmark(Baseline = true)]
    public PlacementNode? ScanEveryNode()
    {
        var (spec, _) = _replicas[_next++ % Decisions];
        PlacementNode? best = null;
        foreach (var node in _nodes)
        {
            if (node.Schedulable
                && PlacementPlanner.IsCompatible(spec, node)
                && node.Slots.FreeCount >= spec.GpusPerReplica
                && (best is null || node.HourlyCostPerGpuUsd < best.HourlyCostPerGpuUsd))
            {
                best = node;
            }
        }

        return best;
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            // One decision an iteration, so each is timed on its own; many iterations, so p99 rests on ~30 of them.
            AddJob(Job.Default
                .WithInvocationCount(1)
                .WithUnrollFactor(1)
                .WithWarmupCount(200)
                .WithIterationCount(3_000)
                .WithOutlierMode(OutlierMode.DontRemove));
            AddColumn(StatisticColumn.P50, StatisticColumn.P95, new PercentileColumn(99));
        }
    }

    /// <summary>A percentile BenchmarkDotNet has no column for (it has P0 to P100 in steps, but no P99).</summary>
    private sealed class PercentileColumn(int percentile) : IColumn
    {
        public string Id => $"P{percentile}";

        public string ColumnName => $"P{percentile}";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Statistics;

        public int PriorityInCategory => percentile;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => $"Percentile {percentile}: {percentile}% of the decisions took at most this long";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var statistics = summary[benchmarkCase]?.ResultStatistics;
            if (statistics is null)
            {
                return "NA";
            }

            // In microseconds always, with the unit in the cell, whatever unit the other columns chose.
            return (statistics.Percentiles.Percentile(percentile) / 1_000).ToString("N3", style.CultureInfo) + " μs";
        }

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;
    }
}
