using System.Diagnostics.Metrics;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Domain.Pools;

namespace ControlPlane.Server.Metrics;

/// <summary>
/// The <c>controlplane_*</c> instruments. Tags are bounded (region, SKU, status, result): never a node or
/// customer id. Fleet gauges read a snapshot that <see cref="FleetMetricsCollector"/> refreshes, so a
/// scrape never fans out to grains.
/// </summary>
public sealed class ControlPlaneMetrics
{
    public const string MeterName = "ControlPlane";

    private readonly Counter<long> _heartbeats;
    private readonly Counter<long> _throttled;
    private volatile IReadOnlyList<PoolTotals> _pools = [];
    private volatile SchedulerSummary? _scheduler;
    private volatile SharingFigures? _sharing;

    public ControlPlaneMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _heartbeats = meter.CreateCounter<long>(
            "controlplane.heartbeats.received",
            unit: "{heartbeat}",
            description: "Node heartbeats received, by result (accepted, stale, rejected).");
        _throttled = meter.CreateCounter<long>(
            "controlplane.requests.throttled",
            unit: "{request}",
            description: "Requests refused with 429 by the rate limiter, by limit (node, gateway, customer, operator, anonymous, failed-authentication).");
        meter.CreateObservableGauge(
            "controlplane.gpus",
            ObserveGpus,
            unit: "{gpu}",
            description: "GPUs in the fleet by region, SKU and node status.");
        meter.CreateObservableGauge(
            "controlplane.gpus.healthy",
            ObserveHealthyGpus,
            unit: "{gpu}",
            description: "GPUs on live nodes without uncorrected ECC errors, by region and SKU.");
        meter.CreateObservableGauge(
            "controlplane.nodes",
            ObserveNodes,
            unit: "{node}",
            description: "Enrolled nodes by region and status.");
        meter.CreateObservableGauge(
            "controlplane.gpus.allocated",
            ObserveAllocated,
            unit: "{gpu}",
            description: "GPUs by region, SKU, pool (dedicated, shared, idle, unavailable) and tier (reserved, burst, serverless, batch, none).");
        meter.CreateObservableCounter(
            "controlplane.preemptions",
            () => _scheduler?.Preemptions ?? 0,
            unit: "{replica}",
            description: "Shared or burst replicas preempted to give their GPUs to a higher tier (resets when the scheduler moves silo).");
        meter.CreateObservableCounter(
            "controlplane.model.loads",
            ObserveLoads,
            unit: "{replica}",
            description: "Replicas placed, by cache: warm (the node held the model's weights) or cold (resets when the scheduler moves silo).");
        meter.CreateObservableCounter(
            "controlplane.wakes",
            () => _scheduler?.Wakes ?? 0,
            unit: "{replica}",
            description: "Replicas placed on the GPUs of an engine of their deployment asleep there, which the agent wakes instead of loading the model (resets when the scheduler moves silo).");
        meter.CreateObservableGauge(
            "controlplane.engines.sleeping",
            ObserveSleeping,
            unit: "{engine}",
            description: "Engines of dedicated replicas asleep on nodes (weights in host memory, GPU memory given back), by region, as the nodes report them.");
        meter.CreateObservableCounter(
            "controlplane.prefetches",
            ObservePrefetches,
            unit: "{prefetch}",
            description: "Model weight prefetches by event: requested (added to a node's list), completed (warm there since), failed (attempts the agent reported); resets when the scheduler moves silo.");
        meter.CreateObservableGauge(
            "controlplane.demand.spilled",
            () => (double)(_scheduler?.SpilledTokensPerSecond ?? 0m),
            unit: "{token}/s",
            description: "Serverless demand that no placed replica serves, sent to distribution partners.");
        meter.CreateObservableGauge(
            "controlplane.replicas",
            ObserveReplicas,
            unit: "{replica}",
            description: "Replicas by deployment class (dedicated, serverless, batch) and state: desired (what the autoscalers want), placed, ready (serving).");
        meter.CreateObservableGauge(
            "controlplane.slack.routed",
            () => ByClass(_sharing?.SlackServerless, _sharing?.SlackBatch),
            unit: "{token}/s",
            description: "Shared demand routed to the spare capacity of dedicated replicas of the same model, by class (serverless, batch).");
        meter.CreateObservableGauge(
            "controlplane.partner.routed",
            () => ByClass(_sharing?.PartnerServerless, _sharing?.PartnerBatch),
            unit: "{token}/s",
            description: "Demand routed to distribution partners (beyond own ready replicas and dedicated slack), by class.");
        meter.CreateObservableGauge(
            "controlplane.partner.capacity",
            () => (double)(_sharing?.PartnerCapacity ?? 0m),
            unit: "{token}/s",
            description: "What the distribution partners take together.");
    }

    /// <summary>Tokens/s routed to dedicated slack and to partners, and the partners' capacity, fleet-wide.</summary>
    public sealed record SharingFigures(decimal SlackServerless, decimal SlackBatch, decimal PartnerServerless, decimal PartnerBatch, decimal PartnerCapacity);

    public void UpdateSharing(SharingFigures figures) => _sharing = figures;

    private static Measurement<double>[] ByClass(decimal? serverless, decimal? batch) =>
    [
        new((double)(serverless ?? 0m), Tag("class", "serverless")),
        new((double)(batch ?? 0m), Tag("class", "batch")),
    ];

    public void HeartbeatReceived(HeartbeatResult result) =>
        _heartbeats.Add(1, new KeyValuePair<string, object?>("result", result switch
        {
            HeartbeatResult.Accepted => "accepted",
            HeartbeatResult.Stale => "stale",
            _ => "rejected",
        }));

    public void RequestThrottled(string limit) => _throttled.Add(1, new KeyValuePair<string, object?>("limit", limit));

    public void HeartbeatRejected() => _heartbeats.Add(1, new KeyValuePair<string, object?>("result", "rejected"));

    public void UpdateFleet(IReadOnlyList<PoolTotals> pools) => _pools = pools;

    public void UpdateScheduler(SchedulerSummary summary) => _scheduler = summary;

    private IEnumerable<Measurement<long>> ObserveLoads()
    {
        var s = _scheduler;
        yield return new Measurement<long>(s?.WarmLoads ?? 0, Tag("cache", "warm"));
        yield return new Measurement<long>(s?.ColdLoads ?? 0, Tag("cache", "cold"));
    }

    private IEnumerable<Measurement<long>> ObserveSleeping() =>
        (_scheduler?.Sleeping ?? []).Select(s => new Measurement<long>(s.Engines, Tag("region", s.Region)));

    private IEnumerable<Measurement<long>> ObservePrefetches()
    {
        var s = _scheduler;
        yield return new Measurement<long>(s?.PrefetchesRequested ?? 0, Tag("event", "requested"));
        yield return new Measurement<long>(s?.PrefetchesCompleted ?? 0, Tag("event", "completed"));
        yield return new Measurement<long>(s?.PrefetchesFailed ?? 0, Tag("event", "failed"));
    }

    private IEnumerable<Measurement<long>> ObserveReplicas()
    {
        foreach (var c in _scheduler?.Replicas ?? [])
        {
            var @class = Lower(c.Class);
            yield return new Measurement<long>(c.Desired, Tag("class", @class), Tag("state", "desired"));
            yield return new Measurement<long>(c.Placed, Tag("class", @class), Tag("state", "placed"));
            yield return new Measurement<long>(c.Ready, Tag("class", @class), Tag("state", "ready"));
        }
    }

    private IEnumerable<Measurement<long>> ObserveAllocated()
    {
        foreach (var u in _scheduler?.Usage ?? [])
        {
            yield return Allocated(u, u.Reserved, "dedicated", "reserved");
            yield return Allocated(u, u.Burst, "dedicated", "burst");
            yield return Allocated(u, u.Serverless, "shared", "serverless");
            yield return Allocated(u, u.Batch, "shared", "batch");
            yield return Allocated(u, u.Idle, "idle", "none");
            yield return Allocated(u, u.Unavailable, "unavailable", "none");
        }
    }

    private static Measurement<long> Allocated(GpuUsageView u, int gpus, string pool, string tier) =>
        new(gpus, Tag("region", u.Region), Tag("sku", u.Sku), Tag("pool", pool), Tag("tier", tier));

    private IEnumerable<Measurement<long>> ObserveGpus() =>
        from pool in _pools
        from sku in pool.Skus
        from status in sku.GpusByStatus
        select new Measurement<long>(status.Value, Tag("region", pool.Region), Tag("sku", sku.Sku), Tag("status", Lower(status.Key)));

    private IEnumerable<Measurement<long>> ObserveHealthyGpus() =>
        from pool in _pools
        from sku in pool.Skus
        select new Measurement<long>(sku.GpusHealthy, Tag("region", pool.Region), Tag("sku", sku.Sku));

    private IEnumerable<Measurement<long>> ObserveNodes() =>
        from pool in _pools
        from status in pool.NodesByStatus
        select new Measurement<long>(status.Value, Tag("region", pool.Region), Tag("status", Lower(status.Key)));

    private static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);

    private static string Lower<T>(T value) where T : Enum => value.ToString().ToLowerInvariant();
}
