using ControlPlane.Domain;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Domain.Deployments;
using ControlPlane.Server.Api.Deployments;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ControlPlane.Server.Api;

/// <summary>Deployments: create (admission control), read, list, change limits, migrate, delete.</summary>
public static partial class AdminApi
{
    private static void MapDeployments(RouteGroupBuilder admin)
    {
        admin.MapPost("/deployments", CreateDeploymentAsync)
            .WithName("CreateDeployment")
            .WithSummary("Create a deployment; 409 when its reservation cannot be honoured even by preempting all shared work.");
        admin.MapGet("/deployments", ListDeploymentsAsync)
            .WithName("ListDeployments")
            .WithSummary("Deployments with desired, placed and ready replicas, demand and spilled demand.");
        admin.MapGet("/deployments/{deploymentId}", GetDeploymentAsync)
            .WithName("GetDeployment")
            .WithSummary("One deployment: spec, desired replicas and where each replica runs.");
        admin.MapPost("/deployments/{deploymentId}/migrate", MigrateDeploymentAsync)
            .WithName("MigrateDeployment")
            .WithSummary("Move to other hardware, another model or another size, make-before-break, replica by replica.");
        admin.MapPatch("/deployments/{deploymentId}", SetDeploymentLimitsAsync)
            .WithName("SetDeploymentLimits")
            .WithSummary("Change minReplicas, maxReplicas or reservedReplicas (fields left out keep their value); 409 when a raised reservation cannot be honoured.");
        admin.MapDelete("/deployments/{deploymentId}", DeleteDeploymentAsync)
            .WithName("DeleteDeployment")
            .WithSummary("Stop every replica and forget the deployment.");
    }

    private static async Task<Results<Created<DeploymentResponse>, Ok<DeploymentResponse>, ValidationProblem, ProblemHttpResult>> CreateDeploymentAsync(
        CreateDeploymentRequest request, IGrainFactory grains, DeploymentIndex index)
    {
        var (spec, errors) = DeploymentMapping.ToSpec(request);
        if (spec is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The deployment is not valid.");
        }

        var result = await grains.GetGrain<IDeploymentGrain>(GrainKeys.Deployment(spec.DeploymentId)).CreateAsync(spec);
        if (result.Status == DeploymentCommandStatus.Done)
        {
            index.Remember(spec.DeploymentId);
        }

        return result.Status switch
        {
            DeploymentCommandStatus.Done => TypedResults.Created($"/admin/v1/deployments/{spec.DeploymentId}", DeploymentMapping.ToResponse(result.Deployment!)),
            DeploymentCommandStatus.Conflict => TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The deployment exists with another spec.",
                detail: $"Deployment '{spec.DeploymentId}' exists with a different spec. Use migrate to change its hardware or model, or delete it first."),
            _ => TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The reservation cannot be honoured.",
                detail: $"{spec.ReservedReplicas} reserved replicas of {spec.GpusPerReplica} GPUs (at least {spec.MinGpuMemoryGiB} GiB each) do not fit on the compatible nodes beside the other customers' reservations, even by preempting all shared work."),
        };
    }

    private static async Task<Ok<DeploymentListItem[]>> ListDeploymentsAsync(IGrainFactory grains)
    {
        var list = await grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).ListAsync();
        return TypedResults.Ok(list.Select(DeploymentMapping.ToListItem).ToArray());
    }

    private static async Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> GetDeploymentAsync(string deploymentId, IGrainFactory grains)
    {
        var view = Ids.IsValid(deploymentId)
            ? await grains.GetGrain<IDeploymentGrain>(GrainKeys.Deployment(deploymentId)).GetAsync()
            : null;
        return view is null ? DeploymentNotFound(deploymentId) : TypedResults.Ok(DeploymentMapping.ToResponse(view));
    }

    private static async Task<Results<Ok<DeploymentResponse>, ValidationProblem, ProblemHttpResult>> MigrateDeploymentAsync(
        string deploymentId, MigrateDeploymentRequest request, IGrainFactory grains)
    {
        var grain = grains.GetGrain<IDeploymentGrain>(GrainKeys.Deployment(deploymentId));
        var current = Ids.IsValid(deploymentId) ? await grain.GetAsync() : null;
        if (current is null)
        {
            return DeploymentNotFound(deploymentId);
        }

        var (spec, errors) = DeploymentMapping.ToSpec(current.Spec, request);
        if (spec is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The migration is not valid.");
        }

        var result = await grain.MigrateAsync(spec);
        return result.Status switch
        {
            DeploymentCommandStatus.Done => TypedResults.Ok(DeploymentMapping.ToResponse(result.Deployment!)),
            DeploymentCommandStatus.NotFound => DeploymentNotFound(deploymentId),
            _ => TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The reservation cannot be honoured on the new hardware.",
                detail: $"{spec.ReservedReplicas} reserved replicas of {spec.GpusPerReplica} GPUs do not fit on the nodes the new spec allows beside the other reservations; nothing changed."),
        };
    }

    private static async Task<Results<Ok<DeploymentResponse>, ValidationProblem, ProblemHttpResult>> SetDeploymentLimitsAsync(
        string deploymentId, SetDeploymentLimitsRequest request, IGrainFactory grains)
    {
        if (!Ids.IsValid(deploymentId))
        {
            return DeploymentNotFound(deploymentId);
        }

        var limits = new DeploymentLimits(request.MinReplicas, request.MaxReplicas, request.ReservedReplicas);
        var result = await grains.GetGrain<IDeploymentGrain>(GrainKeys.Deployment(deploymentId)).SetLimitsAsync(limits);
        return result.Status switch
        {
            DeploymentCommandStatus.Done => TypedResults.Ok(DeploymentMapping.ToResponse(result.Deployment!)),
            DeploymentCommandStatus.NotFound => DeploymentNotFound(deploymentId),
            DeploymentCommandStatus.Invalid => TypedResults.ValidationProblem(
                result.Errors!.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal), title: "The limits are not valid."),
            DeploymentCommandStatus.Conflict => TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The deployment changed meanwhile.",
                detail: $"Deployment '{deploymentId}' is being changed by another request; nothing changed. Read it again and retry."),
            _ => TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The reservation cannot be honoured.",
                detail: $"{limits.ApplyTo(result.Deployment!.Spec).ReservedReplicas} reserved replicas of {result.Deployment.Spec.GpusPerReplica} GPUs (at least {result.Deployment.Spec.MinGpuMemoryGiB} GiB each) do not fit on the compatible nodes beside the other customers' reservations, even by preempting all shared work; nothing changed."),
        };
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteDeploymentAsync(string deploymentId, IGrainFactory grains, DeploymentIndex index)
    {
        var deleted = Ids.IsValid(deploymentId)
            && await grains.GetGrain<IDeploymentGrain>(GrainKeys.Deployment(deploymentId)).DeleteAsync();
        index.Forget(deploymentId);
        return deleted ? TypedResults.NoContent() : DeploymentNotFound(deploymentId);
    }

    internal static ProblemHttpResult DeploymentNotFound(string deploymentId) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "No such deployment.",
            detail: $"No deployment '{deploymentId}' exists.");
}
