using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Contracts.Pools;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Pools;
using ControlPlane.Server.Api.Fleet;
using ControlPlane.Server.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace ControlPlane.Server.Api;

/// <summary>What operators call: nodes and pools here; prices, contracts and tokens in AdminApi.Commits.cs.</summary>
public static partial class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/v1")
            .RequireAuthorization(Policies.Operator)
            .WithTags("Admin");

        admin.MapPost("/nodes", EnrollNodeAsync)
            .WithName("EnrollNode")
            .WithSummary("Enroll a GPU node; returns the token its agent heartbeats with.");
        admin.MapGet("/nodes", ListNodesAsync)
            .WithName("ListNodes")
            .WithSummary("Nodes, optionally filtered by region and status.");
        admin.MapGet("/nodes/{nodeId}", GetNodeAsync)
            .WithName("GetNode")
            .WithSummary("One node: hardware, health and live GPU readings.");
        admin.MapPost("/nodes/{nodeId}/cordon", (string nodeId, IGrainFactory grains) => SetSchedulingAsync(nodeId, NodeScheduling.Cordoned, grains))
            .WithName("CordonNode")
            .WithSummary("Stop placing new work on the node; what runs stays.");
        admin.MapPost("/nodes/{nodeId}/uncordon", (string nodeId, IGrainFactory grains) => SetSchedulingAsync(nodeId, NodeScheduling.Schedulable, grains))
            .WithName("UncordonNode")
            .WithSummary("Allow new work on the node again (also ends a drain).");
        admin.MapPost("/nodes/{nodeId}/drain", (string nodeId, IGrainFactory grains) => SetSchedulingAsync(nodeId, NodeScheduling.Draining, grains))
            .WithName("DrainNode")
            .WithSummary("Move the node's work away and place nothing new on it.");
        admin.MapGet("/pools", ListPoolsAsync)
            .WithName("ListPools")
            .WithSummary("Capacity per region and SKU: GPUs total and healthy by node status; dedicated (reserved, burst), shared, idle and unavailable.");
        admin.MapGet("/capacity/history", (CapacityHistory history) => TypedResults.Ok(history.Read()))
            .WithName("GetCapacityHistory")
            .WithSummary("GPUs by pool per region, preemptions and spilled demand over the last hours: this silo's in-memory samples (Console:CapacitySampleSeconds).");
        MapDeployments(admin);
        MapCommits(admin);
        MapPayAsYouGo(admin);
        MapPartners(admin);
        MapWebhooks(admin);
        MapTokens(admin);
        MapNodeIdentity(admin);
        return app;
    }

    private static async Task<Results<Created<EnrollNodeResponse>, ValidationProblem, ProblemHttpResult>> EnrollNodeAsync(
        EnrollNodeRequest request,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
        IGrainFactory grains,
        TokenService tokens)
    {
        var errors = FleetValidation.Validate(request);
        if (idempotencyKey is { Length: 0 or > 128 })
        {
            errors["Idempotency-Key"] = ["At most 128 characters."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The enrollment is not valid.");
        }

        var nodeId = request.NodeId!;
        var result = await grains.GetGrain<INodeGrain>(GrainKeys.Node(nodeId)).EnrollAsync(new NodeEnrollment(
            nodeId,
            request.Region!,
            request.Provider!.Trim(),
            request.Ownership!.Value,
            request.HourlyCostUsd!.Value,
            idempotencyKey));

        if (result.Status == EnrollmentStatus.AlreadyEnrolled)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The node is already enrolled.",
                detail: $"Node '{nodeId}' is already enrolled. Enrolling again does not issue a new token.");
        }

        var token = tokens.Issue(Roles.Node, nodeId, result.TokenId!, result.TokenIssuedAt!.Value);
        return TypedResults.Created($"/admin/v1/nodes/{nodeId}", new EnrollNodeResponse(nodeId, token));
    }

    private static async Task<Results<Ok<NodeView[]>, ValidationProblem>> ListNodesAsync(string? region, string? status, IGrainFactory grains)
    {
        NodeStatus? wanted = null;
        var errors = new Dictionary<string, string[]>();
        if (status is not null)
        {
            if (Enum.TryParse<NodeStatus>(status, ignoreCase: true, out var parsed) && !int.TryParse(status, out _))
            {
                wanted = parsed;
            }
            else
            {
                errors["status"] = ["One of: " + string.Join(", ", Enum.GetNames<NodeStatus>().Select(n => n.ToLowerInvariant())) + "."];
            }
        }

        if (region is not null && !FleetValidation.IsValidId(region))
        {
            errors["region"] = ["Not a valid region id."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var ids = await grains.GetGrain<IFleetDirectoryGrain>(GrainKeys.FleetDirectory).ListNodesAsync(region);
        var views = await Task.WhenAll(ids.Select(id => grains.GetGrain<INodeGrain>(GrainKeys.Node(id)).GetAsync()));
        return TypedResults.Ok(views
            .OfType<NodeView>()
            .Where(v => wanted is null || v.Status == wanted)
            .ToArray());
    }

    private static async Task<Results<Ok<NodeView>, ProblemHttpResult>> GetNodeAsync(string nodeId, IGrainFactory grains)
    {
        var view = FleetValidation.IsValidId(nodeId)
            ? await grains.GetGrain<INodeGrain>(GrainKeys.Node(nodeId)).GetAsync()
            : null;
        return view is null ? NodeNotFound(nodeId) : TypedResults.Ok(view);
    }

    private static async Task<Results<Ok<NodeView>, ProblemHttpResult>> SetSchedulingAsync(string nodeId, NodeScheduling scheduling, IGrainFactory grains)
    {
        var view = FleetValidation.IsValidId(nodeId)
            ? await grains.GetGrain<INodeGrain>(GrainKeys.Node(nodeId)).SetSchedulingAsync(scheduling)
            : null;
        return view is null ? NodeNotFound(nodeId) : TypedResults.Ok(view);
    }

    private static async Task<Ok<PoolResponse[]>> ListPoolsAsync(IGrainFactory grains)
    {
        var regions = await grains.GetGrain<IFleetDirectoryGrain>(GrainKeys.FleetDirectory).ListRegionsAsync();
        var totals = await Task.WhenAll(regions.Select(r => grains.GetGrain<IPoolGrain>(GrainKeys.Pool(r)).GetTotalsAsync()));
        var usage = (await grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).GetSummaryAsync()).Usage;
        return TypedResults.Ok(totals.Select(t => PoolResponse.From(t, usage)).ToArray());
    }

    private static ProblemHttpResult NodeNotFound(string nodeId) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "No such node.",
            detail: $"No node '{nodeId}' is enrolled.");
}
