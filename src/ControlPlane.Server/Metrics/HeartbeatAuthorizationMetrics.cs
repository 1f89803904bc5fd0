using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace ControlPlane.Server.Metrics;

/// <summary>Marks the heartbeat endpoint, whose refusals by authentication or authorization are counted.</summary>
public sealed class HeartbeatEndpointMetadata;

/// <summary>
/// Counts heartbeats refused before they reach the endpoint (no token, a malformed, revoked or foreign
/// token: 401 or 403) as <c>rejected</c>, so an agent with a bad token shows in
/// <c>controlplane_heartbeats_received_total</c>; the endpoint counts everything that reaches it.
/// </summary>
public sealed class HeartbeatAuthorizationMetrics(ControlPlaneMetrics metrics) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (!authorizeResult.Succeeded && context.GetEndpoint()?.Metadata.GetMetadata<HeartbeatEndpointMetadata>() is not null)
        {
            metrics.HeartbeatRejected();
        }

        return _default.HandleAsync(next, context, policy, authorizeResult);
    }
}
