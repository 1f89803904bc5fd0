namespace ControlPlane.Contracts.Deployments;

/// <summary>
/// The routing answer's read model of one deployment, keyed by <see cref="GrainKeys.DeploymentRoutes"/>: the scheduler
/// pushes the deployment's routes whenever they change, and <c>GET /gateway/v1/deployments/{id}/endpoints</c> reads them
/// here, so routing keeps answering (the last routes known) while the scheduler is busy or failing over. Held in memory:
/// an activation that has nothing yet asks the scheduler once.
/// </summary>
[Alias("IDeploymentRoutesGrain")]
public interface IDeploymentRoutesGrain : IGrainWithStringKey
{
    /// <summary>New routes from the scheduler; older ones than those held (a lower version) are ignored.</summary>
    [Alias("SetAsync")]
    Task SetAsync(DeploymentRoutes routes);

    /// <summary>The last routes known; <see cref="DeploymentRoutes.Inputs"/> is null when the deployment does not exist.</summary>
    [Alias("GetAsync")]
    Task<DeploymentRoutes> GetAsync();
}

/// <summary>A deployment's routes as the scheduler computed them.</summary>
/// <param name="Version">Grows with each computation of the scheduler (and across its activations, with its clock).</param>
/// <param name="Endpoints">Its replicas that take traffic now (ready, on a ready node heard on time).</param>
/// <param name="Inputs">What its weighted routes are computed from, with the partner list; null: no such deployment.</param>
[GenerateSerializer, Alias("deployment-routes")]
public sealed record DeploymentRoutes(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyList<ReplicaView> Endpoints,
    [property: Id(2)] RoutingInputs? Inputs);
