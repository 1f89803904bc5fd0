using ControlPlane.Domain;
using ControlPlane.Contracts.Deployments;
using System.Text.Json.Serialization;
using ControlPlane.Domain.Deployments;

namespace ControlPlane.Server.Api.Deployments;

/// <summary>An operator's request to create a deployment. Fields left out take the defaults noted.</summary>
/// <param name="Class"><c>dedicated</c>, <c>serverless</c> or <c>batch</c>.</param>
/// <param name="CustomerId">Dedicated only: whose endpoint it is.</param>
/// <param name="MinGpuMemoryGiB">Memory each GPU must have (default 0).</param>
/// <param name="Skus">SKU ids allowed (default any).</param>
/// <param name="Regions">Regions allowed (default any).</param>
/// <param name="MinReplicas">Always placed (default 0).</param>
/// <param name="ReservedReplicas">Dedicated only: guaranteed replicas (default 0).</param>
/// <param name="HeadroomPercent">
/// Capacity kept above demand, in percent of it (default: learned from the deployment's own traffic: the largest rise
/// within one model load seen lately).
/// </param>
/// <param name="Image">
/// The inference engine's container image, e.g. <c>vllm/vllm-openai:v0.11.0</c> (default: the node agent's
/// <c>--engine-image</c>): what node agents running replicas as Kubernetes pods start. Agents that run a command ignore it.
/// </param>
public sealed record CreateDeploymentRequest(
    string? DeploymentId,
    string? Model,
    string? Class,
    string? CustomerId,
    int? GpusPerReplica,
    int? MinGpuMemoryGiB,
    string[]? Skus,
    string[]? Regions,
    int? MinReplicas,
    int? ReservedReplicas,
    int? MaxReplicas,
    decimal? TokensPerSecondPerReplica,
    int? HeadroomPercent = null,
    string? Image = null);

/// <summary>What a migration changes; fields left out keep their current value.</summary>
/// <param name="Image">A new engine image: its replicas are replaced make-before-break, as for a new model.</param>
public sealed record MigrateDeploymentRequest(string[]? Skus, string? Model, int? GpusPerReplica, int? MinGpuMemoryGiB, string? Image = null);

/// <summary>
/// Body of <c>PATCH /admin/v1/deployments/{id}</c>: new replica limits; fields left out keep their value. The result is held
/// to the rules of a new deployment.
/// </summary>
/// <param name="ReservedReplicas">Dedicated only: a raise must pass admission control like a new reservation.</param>
public sealed record SetDeploymentLimitsRequest(int? MinReplicas, int? MaxReplicas, int? ReservedReplicas);

/// <summary>A demand signal: the tokens per second the gateway sees (or expects) for a deployment.</summary>
public sealed record DemandSignal(string? DeploymentId, decimal? TokensPerSecond);

/// <summary>
/// Body of <c>POST /gateway/v1/demand</c>: one signal (<c>deploymentId</c>, <c>tokensPerSecond</c>) or a batch
/// (<c>signals</c>), not both.
/// </summary>
public sealed record DemandRequest(string? DeploymentId, decimal? TokensPerSecond, IReadOnlyList<DemandSignal?>? Signals);

/// <param name="Accepted">Signals recorded.</param>
/// <param name="UnknownDeployments">Batch form only: deployments that do not exist (deleted meanwhile); their signals were dropped.</param>
public sealed record DemandResponse(int Accepted, IReadOnlyList<string> UnknownDeployments);

/// <summary>A replica as the admin API shows it.</summary>
/// <param name="State"><c>starting</c>, <c>ready</c>, <c>failed</c>, or <c>draining</c> while being replaced.</param>
/// <param name="Tier"><c>reserved</c>, <c>burst</c> or <c>shared</c>.</param>
public sealed record ReplicaResponse(string ReplicaId, string NodeId, IReadOnlyList<int> GpuIndices, string State, string Tier, string Model, int Ordinal);

/// <summary>A deployment as the admin API shows it.</summary>
/// <param name="ForecastHorizonSeconds">How far ahead its autoscaler looks: its learned load time (null without a forecast).</param>
/// <param name="ScalingDemandTokensPerSecond">
/// Serverless only: the demand its replicas are scaled on, its demand less its share of the spare that dedicated
/// deployments of its model keep (null for other classes).
/// </param>
/// <param name="AwakeReplicas">
/// Dedicated only, once its autoscaler has a forecast and has seen demand: of its desired replicas, how many must run now
/// (enough for the most demand within the scale-down delay, without headroom); the rest is headroom that engines asleep on
/// nodes may hold. Null: every desired replica runs.
/// </param>
public sealed record DeploymentResponse(
    string DeploymentId,
    string Model,
    string Class,
    string? CustomerId,
    int GpusPerReplica,
    int MinGpuMemoryGiB,
    string[]? Skus,
    string[]? Regions,
    int MinReplicas,
    int ReservedReplicas,
    int MaxReplicas,
    decimal TokensPerSecondPerReplica,
    int? HeadroomPercent,
    int Generation,
    int DesiredReplicas,
    decimal DemandTokensPerSecond,
    decimal SpilledTokensPerSecond,
    DateTimeOffset? ScaleDownDueAt,
    IReadOnlyList<ReplicaResponse> Replicas,
    int? ForecastHorizonSeconds,
    decimal? ScalingDemandTokensPerSecond,
    int? AwakeReplicas,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Image = null);

public sealed record DeploymentListItem(
    string DeploymentId,
    string Model,
    string Class,
    string? CustomerId,
    int DesiredReplicas,
    int PlacedReplicas,
    int ReadyReplicas,
    decimal DemandTokensPerSecond,
    decimal SpilledTokensPerSecond);

/// <summary>A replica the gateway may send traffic to.</summary>
public sealed record EndpointResponse(string ReplicaId, string NodeId, IReadOnlyList<int> GpuIndices, string Model);

/// <summary>A weighted route: one of the deployment's replicas, a dedicated replica's slack, or a partner.</summary>
/// <param name="Kind"><c>replica</c>, <c>dedicated-slack</c> or <c>partner</c>.</param>
/// <param name="DeploymentId">Whose replica it is (the dedicated deployment lending it, for slack); absent for a partner.</param>
/// <param name="Weight">The share of this deployment's traffic to send here; the weights add up to about 1.</param>
/// <param name="TokensPerSecond">What the route takes: a replica's capacity, the slack granted on it, or the partner's share.</param>
public sealed record RouteResponse(
    string Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DeploymentId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ReplicaId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? NodeId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PartnerId,
    decimal Weight,
    decimal TokensPerSecond)
{
    public static RouteResponse From(WeightedRoute r) => new(
        r.Kind switch { RouteKind.Replica => "replica", RouteKind.DedicatedSlack => "dedicated-slack", RouteKind.SharedReplica => "shared-replica", _ => "partner" },
        r.DeploymentId,
        r.ReplicaId,
        r.NodeId,
        r.PartnerId,
        r.Weight,
        r.TokensPerSecond);
}

/// <param name="Endpoints">The deployment's own ready replicas (as before routes existed).</param>
/// <param name="Routes">Where to send its traffic, weighted: own replicas, dedicated slack of its model (shared classes), partners (serverless overflow).</param>
public sealed record EndpointsResponse(string DeploymentId, IReadOnlyList<EndpointResponse> Endpoints, IReadOnlyList<RouteResponse> Routes);

public static class DeploymentMapping
{
    public const int MaxDemandSignals = 1_000;

    /// <summary>Demand above this is not a rate any fleet serves: a unit mistake.</summary>
    public const decimal MaxTokensPerSecond = 1_000_000_000m;

    public static string Name(DeploymentClass c) => c.ToString().ToLowerInvariant();

    public static string Name(ReplicaTier tier) => tier switch
    {
        ReplicaTier.Reserved => "reserved",
        ReplicaTier.Burst => "burst",
        _ => "shared",
    };

    /// <summary>The spec a request asks for, or the field errors.</summary>
    public static (DeploymentSpec? Spec, Dictionary<string, string[]> Errors) ToSpec(CreateDeploymentRequest request)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        DeploymentClass? cls = request.Class switch
        {
            "dedicated" => DeploymentClass.Dedicated,
            "serverless" => DeploymentClass.Serverless,
            "batch" => DeploymentClass.Batch,
            _ => null,
        };
        if (cls is null)
        {
            errors["class"] = ["Required: 'dedicated', 'serverless' or 'batch'."];
        }

        Require(request.GpusPerReplica, "gpusPerReplica");
        Require(request.MaxReplicas, "maxReplicas");
        if (request.TokensPerSecondPerReplica is null)
        {
            errors["tokensPerSecondPerReplica"] = ["Required."];
        }

        if (errors.Count > 0)
        {
            // Checks that need the class or numbers would only repeat these.
            return (null, errors);
        }

        var spec = new DeploymentSpec(
            request.DeploymentId ?? "",
            request.Model ?? "",
            cls!.Value,
            request.CustomerId,
            request.GpusPerReplica!.Value,
            request.MinGpuMemoryGiB ?? 0,
            request.Skus,
            request.Regions,
            request.MinReplicas ?? 0,
            request.ReservedReplicas ?? 0,
            request.MaxReplicas!.Value,
            request.TokensPerSecondPerReplica!.Value,
            request.HeadroomPercent,
            request.Image);
        foreach (var (field, problems) in spec.Validate())
        {
            errors[field] = problems;
        }

        return errors.Count == 0 ? (spec, errors) : (null, errors);

        void Require(int? value, string field)
        {
            if (value is null)
            {
                errors[field] = ["Required."];
            }
        }
    }

    /// <summary>The spec a migration asks for, or the field errors. Reservations and counts do not change in a migration.</summary>
    public static (DeploymentSpec? Spec, Dictionary<string, string[]> Errors) ToSpec(DeploymentSpec current, MigrateDeploymentRequest request)
    {
        var spec = current with
        {
            Skus = request.Skus ?? current.Skus,
            Model = request.Model ?? current.Model,
            GpusPerReplica = request.GpusPerReplica ?? current.GpusPerReplica,
            MinGpuMemoryGiB = request.MinGpuMemoryGiB ?? current.MinGpuMemoryGiB,
            Image = request.Image ?? current.Image,
        };
        var errors = spec.Validate().ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        if (request is { Skus: null, Model: null, GpusPerReplica: null, MinGpuMemoryGiB: null, Image: null })
        {
            errors["body"] = ["Give at least one of skus, model, gpusPerReplica, minGpuMemoryGiB, image."];
        }

        return errors.Count == 0 ? (spec, errors) : (null, errors);
    }

    public static Dictionary<string, string[]> Validate(DemandSignal? signal, string prefix = "")
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (signal is null)
        {
            errors[prefix.TrimEnd('.')] = ["Must be an object."];
            return errors;
        }

        if (!Ids.IsValid(signal.DeploymentId))
        {
            errors[prefix + "deploymentId"] = ["Required: a deployment id."];
        }

        if (signal.TokensPerSecond is not { } tps || tps < 0 || tps > MaxTokensPerSecond)
        {
            errors[prefix + "tokensPerSecond"] = [$"Required: between 0 and {MaxTokensPerSecond}."];
        }

        return errors;
    }

    public static DeploymentResponse ToResponse(DeploymentView view)
    {
        var s = view.Spec;
        return new DeploymentResponse(
            s.DeploymentId,
            s.Model,
            Name(s.Class),
            s.CustomerId,
            s.GpusPerReplica,
            s.MinGpuMemoryGiB,
            s.Skus,
            s.Regions,
            s.MinReplicas,
            s.ReservedReplicas,
            s.MaxReplicas,
            s.TokensPerSecondPerReplica,
            s.HeadroomPercent,
            view.Generation,
            view.DesiredReplicas,
            view.DemandTokensPerSecond,
            view.SpilledTokensPerSecond,
            view.ScaleDownDueAt,
            view.Replicas.Select(r => new ReplicaResponse(r.ReplicaId, r.NodeId, r.GpuIndices, r.State, Name(r.Tier), r.Model, r.Ordinal)).ToArray(),
            view.ForecastHorizonSeconds,
            view.ScalingDemandTokensPerSecond,
            view.AwakeReplicas,
            s.Image);
    }

    public static DeploymentListItem ToListItem(DeploymentSummary d) => new(
        d.Spec.DeploymentId,
        d.Spec.Model,
        Name(d.Spec.Class),
        d.Spec.CustomerId,
        d.DesiredReplicas,
        d.PlacedReplicas,
        d.ReadyReplicas,
        d.DemandTokensPerSecond,
        d.SpilledTokensPerSecond);
}
