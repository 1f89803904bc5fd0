using System.Security.Claims;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Auth;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Domain.Deployments;
using ControlPlane.Server.Api.Auth;
using ControlPlane.Server.Api.Deployments;
using ControlPlane.Server.Api.Fleet;
using ControlPlane.Server.Auth;
using ControlPlane.Server.Metrics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace ControlPlane.Server.Api;

/// <summary>What node agents call. A node token works for its own node only.</summary>
public static class AgentApi
{
    public static IEndpointRouteBuilder MapAgentApi(this IEndpointRouteBuilder app)
    {
        var agent = app.MapGroup("/agent/v1")
            .RequireAuthorization(Policies.Node)
            .WithTags("Agent");

        agent.MapPost("/nodes/{nodeId}/heartbeat", HeartbeatAsync)
            .WithMetadata(new HeartbeatEndpointMetadata())
            .WithName("Heartbeat")
            .WithSummary("Report GPUs and replicas; the reply carries the interval and the desired replicas.");

        // The one call a join token may make.
        app.MapGroup("/agent/v1")
            .RequireAuthorization(Policies.Join)
            .WithTags("Agent")
            .MapPost("/enrol", EnrolAsync)
            .WithName("AgentEnrol")
            .WithSummary("Enrol the agent's node with a join token (on the join token's terms); returns the node's own token.");
        return app;
    }

    private static async Task<Results<Ok<HeartbeatResponse>, ValidationProblem, ProblemHttpResult>> HeartbeatAsync(
        string nodeId,
        HeartbeatRequest request,
        ClaimsPrincipal user,
        HttpContext http,
        IGrainFactory grains,
        ControlPlaneMetrics metrics,
        DeploymentIndex deployments)
    {
        if (!string.Equals(user.Subject(), nodeId, StringComparison.Ordinal))
        {
            metrics.HeartbeatRejected();
            return TypedResults.Problem(
                statusCode: StatusCodes.Status403Forbidden,
                title: "The token is for another node.",
                detail: $"This token may heartbeat only for node '{user.Subject()}'.");
        }

        var errors = FleetValidation.Validate(request);
        if (errors.Count > 0)
        {
            metrics.HeartbeatRejected();
            return TypedResults.ValidationProblem(errors, title: "The heartbeat is not valid.");
        }

        var outcome = await grains.GetGrain<INodeGrain>(GrainKeys.Node(nodeId)).HeartbeatAsync(new NodeHeartbeat(
            request.Sequence!.Value,
            request.AgentSessionId,
            request.AgentVersion,
            FleetValidation.ToReadings(request.Gpus),
            FleetValidation.CleanError(request.InventoryError),
            user.TokenId() ?? "",
            FleetValidation.ToReplicaReports(request.Replicas),
            FleetValidation.ToModelCache(request.ModelCache),
            FleetValidation.ToSleeping(request.Sleeping),
            request.SleepBudgetBytes));
        metrics.HeartbeatReceived(outcome.Result);
        var stopSleeping = outcome.Result is HeartbeatResult.NotEnrolled or HeartbeatResult.TokenRevoked ? null : await GoneSleepersAsync(deployments, request.Sleeping);

        return outcome.Result switch
        {
            HeartbeatResult.NotEnrolled => TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "No such node.",
                detail: $"Node '{nodeId}' is not enrolled."),
            HeartbeatResult.TokenRevoked => Challenge(http, TypedResults.Problem(
                statusCode: StatusCodes.Status401Unauthorized,
                title: "The token was replaced.",
                detail: $"This token is no longer valid for node '{nodeId}'; ask an operator for the current one.")),
            // A stale heartbeat is answered like any other: the agent has nothing to fix.
            _ => TypedResults.Ok(new HeartbeatResponse(
                outcome.HeartbeatIntervalSeconds,
                (outcome.Desired ?? []).Select(ToDesired).ToArray(),
                outcome.Prefetch ?? [],
                stopSleeping)),
        };
    }

    /// <summary>
    /// The deployments of the reported sleeping engines that exist nowhere (deleted): their engines would never be woken.
    /// Null when there are none, or when the list of deployments cannot be read now (nothing is stopped on a guess).
    /// </summary>
    private static async Task<IReadOnlyList<string>?> GoneSleepersAsync(DeploymentIndex deployments, IReadOnlyList<SleepingEngineRequest?>? sleeping)
    {
        if (sleeping is not { Count: > 0 })
        {
            return null;
        }

        var ids = sleeping.Select(s => s!.DeploymentId!).Distinct(StringComparer.Ordinal).ToArray();
        IReadOnlySet<string> existing;
        try
        {
            existing = await deployments.ExistingAsync(ids);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return null;
        }

        var gone = ids.Where(id => !existing.Contains(id)).Order(StringComparer.Ordinal).ToArray();
        return gone.Length == 0 ? null : gone;
    }

    private static async Task<Results<Created<AgentEnrolResponse>, ValidationProblem, ProblemHttpResult>> EnrolAsync(
        AgentEnrolRequest request,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
        ClaimsPrincipal user,
        HttpContext http,
        IGrainFactory grains,
        TokenService tokens,
        TimeProvider time)
    {
        var errors = new Dictionary<string, string[]>();
        if (!FleetValidation.IsValidId(request.NodeId))
        {
            errors["nodeId"] = ["Required: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 63 characters."];
        }

        if (!JoinTokenValidation.IsValidKey(idempotencyKey))
        {
            errors["Idempotency-Key"] = ["1 to 128 characters, no control characters."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The enrolment is not valid.");
        }

        var nodeId = request.NodeId!;
        var result = await grains.GetGrain<IJoinTokenGrain>(GrainKeys.JoinToken(user.TokenId()!)).EnrolAsync(nodeId, idempotencyKey, time.GetUtcNow());
        return result switch
        {
            { Status: JoinStatus.Enrolled, NodeTokenId: { } tokenId, NodeTokenIssuedAt: { } issuedAt } =>
                TypedResults.Created($"/admin/v1/nodes/{nodeId}", new AgentEnrolResponse(nodeId, tokens.Issue(Roles.Node, nodeId, tokenId, issuedAt))),
            { Status: JoinStatus.NodeNotAllowed } => TypedResults.Problem(
                statusCode: StatusCodes.Status403Forbidden,
                title: "The join token is not for this node.",
                detail: $"This join token enrols only node ids with its prefix, not '{nodeId}'."),
            { Status: JoinStatus.UsedUp } => TypedResults.Problem(
                statusCode: StatusCodes.Status403Forbidden,
                title: "The join token is used up.",
                detail: "Every enrolment this join token allows was made; ask an operator for another."),
            { Status: JoinStatus.AlreadyEnrolled } => TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The node is already enrolled.",
                detail: $"Node '{nodeId}' is enrolled and holds a token: an operator issues it a new one (POST /admin/v1/nodes/{nodeId}/token), or revokes it first to let it enrol again."),
            _ => Challenge(http, TypedResults.Problem(
                statusCode: StatusCodes.Status401Unauthorized,
                title: "The join token is not valid.",
                detail: "The join token expired, was revoked, or is unknown.")),
        };
    }

    /// <summary>A 401 decided here rather than by the authentication handler still carries the bearer challenge.</summary>
    private static ProblemHttpResult Challenge(HttpContext http, ProblemHttpResult problem)
    {
        http.Response.Headers.WWWAuthenticate = BearerChallenge.Header(BearerChallenge.InvalidToken, problem.ProblemDetails.Title ?? "The token is not valid.");
        return problem;
    }

    // A dedicated replica's spare capacity serves shared requests for its model, behind its own deployment's; its
    // engine may sleep when it leaves the list.
    private static DesiredReplica ToDesired(PlacedReplica r) =>
        new(r.ReplicaId, r.DeploymentId, r.Model, r.GpuIndices, r.Tier is ReplicaTier.Reserved or ReplicaTier.Burst ? "low" : null, r.Tier.ToString().ToLowerInvariant(), r.Image);
}
