using ControlPlane.Domain.Deployments;

namespace ControlPlane.Contracts.Deployments;

/// <summary>
/// One deployment, keyed by <see cref="GrainKeys.Deployment"/>: its spec, its demand and autoscaling. Demand
/// signals stop here; the scheduler hears only when the desired replica count (or the demand) changes.
/// </summary>
[Alias("IDeploymentGrain")]
public interface IDeploymentGrain : IGrainWithStringKey
{
    /// <summary>Creates the deployment if admission control accepts it. Creating it again with the same spec is a success.</summary>
    [Alias("CreateAsync")]
    Task<DeploymentCommandResult> CreateAsync(DeploymentSpec spec);

    [Alias("GetAsync")]
    Task<DeploymentView?> GetAsync();

    /// <summary>Records demand and scales: up at once, down after the scale-down delay.</summary>
    [Alias("ReportDemandAsync")]
    Task<DeploymentCommandResult> ReportDemandAsync(decimal tokensPerSecond);

    /// <summary>
    /// The scheduler's new scaling demand for a serverless deployment (its demand less its share of the spare kept by
    /// dedicated deployments of its model), computed for demand <paramref name="forDemandTokensPerSecond"/>: ignored
    /// when the deployment has seen another demand since (its own report brings the figure for that one) or is not
    /// serverless. Idempotent.
    /// </summary>
    [Alias("SetScalingDemandAsync")]
    Task SetScalingDemandAsync(decimal scalingTokensPerSecond, decimal forDemandTokensPerSecond);

    /// <summary>
    /// Tells the scheduler the demand last heard again, as if it had changed (a scheduler that started again knows no
    /// demand, and would measure the SLO blind); nothing when no demand was heard since this deployment's activation.
    /// </summary>
    [Alias("TellDemandAgainAsync")]
    Task TellDemandAgainAsync();

    /// <summary>
    /// One of its replicas took <paramref name="loadTime"/> from placement to ready: the deployment learns its load time
    /// (<see cref="LoadTimeEstimate"/>), its forecast horizon. A repeat for the same replica is ignored.
    /// </summary>
    [Alias("ObserveLoadAsync")]
    Task ObserveLoadAsync(string replicaId, TimeSpan loadTime);

    /// <summary>Moves the deployment to a new spec (hardware, model, size), make-before-break, replica by replica.</summary>
    [Alias("MigrateAsync")]
    Task<DeploymentCommandResult> MigrateAsync(DeploymentSpec spec);

    /// <summary>
    /// Changes the replica limits (<see cref="DeploymentLimits"/>: fields left out keep their value). The result is held to
    /// the rules of a new spec (<see cref="DeploymentCommandStatus.Invalid"/> with the field errors), and a raised
    /// reservation to admission control like a creation's (<see cref="DeploymentCommandStatus.Refused"/>); either changes
    /// nothing. Once stored, the desired count is clamped into the new limits (<see cref="Autoscaler.Limit"/>) and the
    /// scheduler has it at once. The generation stays: replicas are replaced only where an ordinal moved between reserved
    /// and burst. The same limits again is a success that changes nothing.
    /// </summary>
    [Alias("SetLimitsAsync")]
    Task<DeploymentCommandResult> SetLimitsAsync(DeploymentLimits limits);

    /// <summary>Stops and forgets the deployment; false when there was none.</summary>
    [Alias("DeleteAsync")]
    Task<bool> DeleteAsync();
}

[GenerateSerializer, Alias("deployment-command-status")]
public enum DeploymentCommandStatus
{
    Done,
    NotFound,
    /// <summary>A deployment with this id and another spec exists.</summary>
    Conflict,
    /// <summary>Admission control refused the reservation.</summary>
    Refused,
    /// <summary>The change breaks the rules of a spec (<see cref="DeploymentCommandResult.Errors"/> says which).</summary>
    Invalid,
}

/// <param name="Errors">With <see cref="DeploymentCommandStatus.Invalid"/>: the field errors, keyed like the request's fields.</param>
[GenerateSerializer, Alias("deployment-command-result")]
public sealed record DeploymentCommandResult(
    [property: Id(0)] DeploymentCommandStatus Status,
    [property: Id(1)] DeploymentView? Deployment,
    [property: Id(2)] IReadOnlyDictionary<string, string[]>? Errors = null);

/// <summary>A deployment as operators see it.</summary>
/// <param name="ForecastHorizonSeconds">The horizon its autoscaler looks ahead (its learned load time); null without a forecast.</param>
/// <param name="ScalingDemandTokensPerSecond">What a serverless deployment scales on (its demand less the dedicated slack it counts on); null for other classes.</param>
/// <param name="AwakeReplicas">
/// A dedicated or serverless deployment with a forecast: of its desired replicas, how many must run now (<see cref="Autoscaler.Awake"/>); the
/// rest is headroom that its engines asleep on nodes may hold. Null: every desired replica runs.
/// </param>
[GenerateSerializer, Alias("deployment-view")]
public sealed record DeploymentView(
    [property: Id(0)] DeploymentSpec Spec,
    [property: Id(1)] int Generation,
    [property: Id(2)] int DesiredReplicas,
    [property: Id(3)] decimal DemandTokensPerSecond,
    [property: Id(4)] decimal SpilledTokensPerSecond,
    [property: Id(5)] IReadOnlyList<ReplicaView> Replicas,
    [property: Id(6)] DateTimeOffset? ScaleDownDueAt,
    [property: Id(7)] int? ForecastHorizonSeconds = null,
    [property: Id(8)] decimal? ScalingDemandTokensPerSecond = null,
    [property: Id(9)] int? AwakeReplicas = null);
