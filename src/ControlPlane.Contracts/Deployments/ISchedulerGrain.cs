using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;

namespace ControlPlane.Contracts.Deployments;

/// <summary>
/// Turns deficits into placements and preemptions, one decision at a time (keyed by <see cref="GrainKeys.Scheduler"/>).
/// It keeps a model of every node's slots, fed by the node grains' change reports, and claims GPUs by messages to
/// the node grains, which are the locks on their GPUs: a claim planned from a stale view is refused there.
/// </summary>
[Alias("ISchedulerGrain")]
public interface ISchedulerGrain : IGrainWithStringKey
{
    /// <summary>
    /// Adds a deployment, or replaces its spec when <see cref="ScheduledDeployment.Generation"/> is newer (a
    /// migration), if admission control accepts its reservation. A retry of the same deployment is accepted again.
    /// </summary>
    [Alias("AdmitAsync")]
    Task<AdmissionResult> AdmitAsync(ScheduledDeployment deployment);

    /// <summary>
    /// Sets how many replicas a deployment wants, how many of them it keeps (<see cref="Autoscaler.Keeps"/>: fewer while a
    /// scale-down is pending) and its demand (for routing, slack and spilled-demand figures). Answers a serverless
    /// deployment's scaling demand (<see cref="SlackSharing.ScalingDemand"/>: its demand less its share of the spare
    /// that dedicated deployments of its model keep) as of this demand; null for other classes or an unknown deployment.
    /// <paramref name="awake"/>: of the desired replicas, how many must run now (<see cref="Autoscaler.Awake"/>; the rest is
    /// headroom that sleeping engines may hold, <see cref="ScheduledDeployment.Awake"/>); null when all must.
    /// <paramref name="keptForRises"/>: a dedicated deployment's spare kept for its own quick rises
    /// (<see cref="AutoscaleState.QuickRise"/>), which serverless does not count on when it scales
    /// (<see cref="ModelDemand.KeptForRises"/>); 0 for other classes.
    /// <paramref name="headroom"/>: with an awake count, how many must run for the demand alone and the deployment's quick
    /// rise, so the scheduler keeps the room for quick rises per model (<see cref="ModelHeadroom"/>); null keeps
    /// <paramref name="awake"/> as it is.
    /// </summary>
    [Alias("SetDesiredAsync.4")]
    Task<decimal?> SetDesiredAsync(string deploymentId, int desired, int keeps, decimal demandTokensPerSecond, int? awake = null, decimal keptForRises = 0, DeploymentHeadroom? headroom = null);

    /// <summary>Removes a deployment; its replicas are stopped. False when it was not there.</summary>
    [Alias("RemoveAsync")]
    Task<bool> RemoveAsync(string deploymentId);

    /// <summary>A node's placement-relevant state changed (health, operator intent, inventory, slots or replica states).</summary>
    [Alias("NodeChangedAsync")]
    Task NodeChangedAsync(NodePlacementReport report);

    /// <summary>
    /// The nodes whose agents the node grains on <paramref name="silo"/> heard since its last report (each silo reports
    /// once a second), or, with <paramref name="all"/>, every node they heard since the silo started: the cluster's
    /// record of liveness, which routing consults at answer time and which outlives a lost node grain. True when the
    /// scheduler wants the silo's next report to hold all (it started since, and has not had one from that silo).
    /// </summary>
    [Alias("NodesHeardAsync.2")]
    Task<bool> NodesHeardAsync(SiloAddress silo, NodeHeard[] heard, bool all);

    /// <summary>
    /// Every deployment's id: the scheduler holds every deployment's spec, so an API can refuse an unknown id without
    /// activating a deployment grain for it. Reads stored state only (no fleet read-back).
    /// </summary>
    [Alias("ListDeploymentIdsAsync")]
    Task<IReadOnlyList<string>> ListDeploymentIdsAsync();

    /// <summary>A deployment's replicas as placed; null when the scheduler has no such deployment.</summary>
    [Alias("GetReplicasAsync")]
    Task<IReadOnlyList<ReplicaView>?> GetReplicasAsync(string deploymentId);

    /// <summary>
    /// A deployment's routes as the scheduler sees them now (what it pushes to <see cref="IDeploymentRoutesGrain"/> when
    /// they change); <see cref="DeploymentRoutes.Inputs"/> is null when it has no such deployment. The read model asks
    /// this only when it has nothing yet (its first activation, or after it was lost).
    /// </summary>
    [Alias("GetRoutesAsync")]
    Task<DeploymentRoutes> GetRoutesAsync(string deploymentId);

    /// <summary>Every deployment's demand and routable replica count (for the fleet's sharing figures).</summary>
    [Alias("ListDemandAsync")]
    Task<IReadOnlyList<ModelDemand>> ListDemandAsync();

    /// <summary>Deployments with their desired and placed replica counts.</summary>
    [Alias("ListAsync")]
    Task<IReadOnlyList<DeploymentSummary>> ListAsync();

    /// <summary>GPU use by region and SKU, preemptions and spilled demand.</summary>
    [Alias("GetSummaryAsync")]
    Task<SchedulerSummary> GetSummaryAsync();
}

[GenerateSerializer, Alias("admission-result")]
public enum AdmissionResult
{
    Admitted,
    /// <summary>The reservation could not be honoured even by preempting all shared and burst work.</summary>
    Refused,
    /// <summary>The scheduler holds a newer generation of the deployment than the one offered.</summary>
    Stale,
}

/// <summary>What a node grain tells the scheduler about itself.</summary>
/// <param name="Node">Its hardware, whether it takes new work, and its slot map.</param>
/// <param name="Replicas">The replicas holding its GPUs, with the states its agent reported.</param>
/// <param name="Version">Grows with every change, so the scheduler can drop a report that arrives late.</param>
/// <param name="Prefetch">The prefetch list the node holds (what the scheduler last set), so a restarted scheduler knows it.</param>
/// <param name="PrefetchFailures">Prefetches its agent could not finish; a higher attempt count is a new failure.</param>
[GenerateSerializer, Alias("node-placement-report")]
public sealed record NodePlacementReport(
    [property: Id(0)] PlacementNode Node,
    [property: Id(1)] NodeHealth Health,
    [property: Id(2)] NodeScheduling Scheduling,
    [property: Id(3)] PlacedReplica[] Replicas,
    [property: Id(4)] long Version,
    [property: Id(5)] string[]? Prefetch = null,
    [property: Id(6)] PrefetchFailure[]? PrefetchFailures = null);

/// <summary>A node whose agent a node grain heard, <paramref name="Ago"/> before its silo's report was sent (an age, not a time: silos' clocks differ).</summary>
[GenerateSerializer, Alias("node-heard")]
public sealed record NodeHeard([property: Id(0)] string NodeId, [property: Id(1)] TimeSpan Ago);

/// <summary>A replica as operators and the gateway see it.</summary>
/// <param name="State"><c>starting</c>, <c>ready</c>, <c>failed</c>, or <c>draining</c> while it is being replaced.</param>
[GenerateSerializer, Alias("replica-view")]
public sealed record ReplicaView(
    [property: Id(0)] string ReplicaId,
    [property: Id(1)] string DeploymentId,
    [property: Id(2)] string Model,
    [property: Id(3)] string NodeId,
    [property: Id(4)] int[] GpuIndices,
    [property: Id(5)] string State,
    [property: Id(6)] ReplicaTier Tier,
    [property: Id(7)] int Ordinal,
    [property: Id(8)] bool Routable);

/// <summary>
/// What a deployment's routing answer is computed from (with the partner list): the demand and routable replica count of
/// the deployments its routes depend on (<see cref="SharingPlan.DependenciesOf"/>), and the routable replicas of the
/// deployment and of the other deployments of its model.
/// </summary>
[GenerateSerializer, Alias("routing-inputs")]
public sealed record RoutingInputs(
    [property: Id(0)] IReadOnlyList<ModelDemand> Deployments,
    [property: Id(1)] IReadOnlyList<RoutableReplica> Replicas);

/// <summary>A deployment in the scheduler's list.</summary>
/// <param name="AwakeReplicas">Of the desired replicas, how many must run now, as the deployment last said (<see cref="ScheduledDeployment.Awake"/>); null: all.</param>
[GenerateSerializer, Alias("deployment-summary")]
public sealed record DeploymentSummary(
    [property: Id(0)] DeploymentSpec Spec,
    [property: Id(1)] int DesiredReplicas,
    [property: Id(2)] int PlacedReplicas,
    [property: Id(3)] int ReadyReplicas,
    [property: Id(4)] decimal DemandTokensPerSecond,
    [property: Id(5)] decimal SpilledTokensPerSecond,
    [property: Id(6)] int? AwakeReplicas = null);

/// <summary>GPUs of a region and SKU by what they do.</summary>
[GenerateSerializer, Alias("gpu-usage-view")]
public sealed record GpuUsageView(
    [property: Id(0)] string Region,
    [property: Id(1)] string Sku,
    [property: Id(2)] int Reserved,
    [property: Id(3)] int Burst,
    [property: Id(4)] int Serverless,
    [property: Id(5)] int Batch,
    [property: Id(6)] int Idle,
    [property: Id(7)] int Unavailable);

/// <summary>The fleet's allocation and the scheduler's counters (they start again from 0 when the scheduler moves silo).</summary>
/// <param name="WarmLoads">Replicas placed on a node that held their model's weights warm.</param>
/// <param name="ColdLoads">Replicas placed on a node that did not: their weights come over the network.</param>
/// <param name="PrefetchesRequested">Models added to nodes' prefetch lists.</param>
/// <param name="PrefetchesCompleted">Models in a node's prefetch list that turned warm there.</param>
/// <param name="PrefetchesFailed">Prefetch attempts that node agents reported as failed.</param>
/// <param name="Replicas">Desired, placed and ready replicas by deployment class (every class, also when 0).</param>
/// <param name="Wakes">Replicas placed on the GPUs of an engine of their deployment asleep there: the agent wakes it instead of loading.</param>
/// <param name="Sleeping">Engines asleep on nodes, by region, as the nodes last reported them.</param>
[GenerateSerializer, Alias("scheduler-summary")]
public sealed record SchedulerSummary(
    [property: Id(0)] IReadOnlyList<GpuUsageView> Usage,
    [property: Id(1)] long Preemptions,
    [property: Id(2)] decimal SpilledTokensPerSecond,
    [property: Id(3)] long WarmLoads = 0,
    [property: Id(4)] long ColdLoads = 0,
    [property: Id(5)] long PrefetchesRequested = 0,
    [property: Id(6)] long PrefetchesCompleted = 0,
    [property: Id(7)] long PrefetchesFailed = 0,
    [property: Id(8)] IReadOnlyList<ReplicaCountView>? Replicas = null,
    [property: Id(9)] long Wakes = 0,
    [property: Id(10)] IReadOnlyList<SleepingCountView>? Sleeping = null);

/// <summary>Engines asleep on the nodes of a region.</summary>
[GenerateSerializer, Alias("sleeping-count-view")]
public sealed record SleepingCountView(
    [property: Id(0)] string Region,
    [property: Id(1)] int Engines);

/// <summary>Replicas of every deployment of one class, added up: what the autoscalers want, what is placed, what serves.</summary>
[GenerateSerializer, Alias("replica-count-view")]
public sealed record ReplicaCountView(
    [property: Id(0)] DeploymentClass Class,
    [property: Id(1)] int Desired,
    [property: Id(2)] int Placed,
    [property: Id(3)] int Ready);
