using ControlPlane.Domain;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Deployments;
using ControlPlane.Server.Api.Deployments;
using ControlPlane.Server.Api.Metering;
using ControlPlane.Server.Api.Partners;
using ControlPlane.Server.Auth;
using ControlPlane.Server.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ControlPlane.Server.Api;

/// <summary>What the inference gateway calls: usage batches, demand signals and the routing table.</summary>
public static class GatewayApi
{
    public static IEndpointRouteBuilder MapGatewayApi(this IEndpointRouteBuilder app)
    {
        var gateway = app.MapGroup("/gateway/v1")
            .RequireAuthorization(Policies.Gateway)
            .WithTags("Gateway");

        gateway.MapPost("/usage", RecordUsageAsync)
            .WithName("RecordUsage")
            .WithSummary("Meter a batch of requests; answered once the batch is durable. Resending is safe: each event counts once.");
        gateway.MapPost("/demand", ReportDemandAsync)
            .WithName("ReportDemand")
            .WithSummary("Report demand (tokens/s) for one deployment or a batch; deployments scale up at once and down after the delay.");
        gateway.MapGet("/deployments/{deploymentId}/endpoints", GetEndpointsAsync)
            .WithName("GetEndpoints")
            .WithSummary("The ready replicas of a deployment (a suspect node's are left out), and its weighted routes: own replicas, dedicated slack of its model, partners.");
        return app;
    }

    private static async Task<Results<Ok<DemandResponse>, ValidationProblem, ProblemHttpResult>> ReportDemandAsync(
        DemandRequest request, IGrainFactory grains, DeploymentIndex index, RequestLimiter limiter, HttpContext http)
    {
        var single = request.DeploymentId is not null || request.TokensPerSecond is not null;
        if (single == request.Signals is not null)
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["body"] = ["Give either deploymentId and tokensPerSecond, or signals (a list of them)."] },
                title: "The demand signal is not valid.");
        }

        var signals = single ? [new DemandSignal(request.DeploymentId, request.TokensPerSecond)] : request.Signals!;

        // Each signal is work (validation, a lookup, a grain call): it costs the gateway's budget one request.
        if (await limiter.ChargeAsync(http, Math.Min(signals.Count, DeploymentMapping.MaxDemandSignals) - 1) is { } throttled)
        {
            return throttled;
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (signals.Count > DeploymentMapping.MaxDemandSignals)
        {
            errors["signals"] = [$"At most {DeploymentMapping.MaxDemandSignals} signals per request."];
        }

        for (var i = 0; i < signals.Count && errors.Count == 0; i++)
        {
            foreach (var (field, problems) in DeploymentMapping.Validate(signals[i], single ? "" : $"signals[{i}]."))
            {
                errors[field] = problems;
            }
        }

        if (errors.Count == 0 && signals.Select(s => s!.DeploymentId).Distinct(StringComparer.Ordinal).Count() != signals.Count)
        {
            errors["signals"] = ["Each deployment at most once per request."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The demand signal is not valid; nothing was recorded.");
        }

        // Only deployments that exist are called: an id made up by the caller activates nothing.
        var existing = await index.ExistingAsync(signals.Select(s => s!.DeploymentId!).ToArray());
        var results = await Task.WhenAll(signals.Select(s => existing.Contains(s!.DeploymentId!)
            ? grains.GetGrain<IDeploymentGrain>(GrainKeys.Deployment(s.DeploymentId!)).ReportDemandAsync(s.TokensPerSecond!.Value)
            : Task.FromResult(new DeploymentCommandResult(DeploymentCommandStatus.NotFound, null))));
        var unknown = signals.Where((_, i) => results[i].Status == DeploymentCommandStatus.NotFound).Select(s => s!.DeploymentId!).ToArray();
        foreach (var id in unknown)
        {
            index.Forget(id);
        }

        if (single && unknown.Length > 0)
        {
            return AdminApi.DeploymentNotFound(unknown[0]);
        }

        return TypedResults.Ok(new DemandResponse(signals.Count - unknown.Length, unknown));
    }

    private static async Task<Results<Ok<EndpointsResponse>, ProblemHttpResult>> GetEndpointsAsync(
        string deploymentId, IGrainFactory grains, PartnerCache partners)
    {
        if (!Ids.IsValid(deploymentId))
        {
            return AdminApi.DeploymentNotFound(deploymentId);
        }

        // The deployment's read model, which the scheduler keeps up to date: routing never waits on the scheduler.
        var routesTask = grains.GetGrain<IDeploymentRoutesGrain>(GrainKeys.DeploymentRoutes(deploymentId)).GetAsync();
        var partnersTask = partners.GetAsync();
        var known = await routesTask;
        if (known.Inputs is not { } inputs)
        {
            return AdminApi.DeploymentNotFound(deploymentId);
        }

        var routes = SharingPlan.Compute(inputs.Deployments, await partnersTask).RoutesOf(deploymentId, inputs.Replicas);
        return TypedResults.Ok(new EndpointsResponse(
            deploymentId,
            known.Endpoints.Select(r => new EndpointResponse(r.ReplicaId, r.NodeId, r.GpuIndices, r.Model)).ToArray(),
            routes.Select(RouteResponse.From).ToArray()));
    }

    private static async Task<Results<Ok<UsageBatchResponse>, ValidationProblem>> RecordUsageAsync(
        UsageBatchRequest request, IGrainFactory grains, TimeProvider time)
    {
        var errors = MeteringValidation.Validate(request, time.GetUtcNow());
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The usage batch is not valid; nothing of it was counted.");
        }

        // Any worker will do: stateless workers run on the silo that calls them.
        var result = await grains.GetGrain<IUsageIngestGrain>(0).IngestAsync(MeteringValidation.ToBatch(request));
        if (result.Errors is { Count: > 0 })
        {
            return TypedResults.ValidationProblem(result.Errors, title: "The usage batch is not valid; nothing of it was counted.");
        }

        return TypedResults.Ok(new UsageBatchResponse(result.Accepted, result.Duplicates));
    }
}
