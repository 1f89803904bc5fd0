using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;

namespace ControlPlane.Grains.Deployments;

/// <summary>
/// A deployment's routes as the scheduler last pushed them (<see cref="SchedulerGrain"/>, only when they change), read by
/// the gateway's routing answer. In memory only: they are the scheduler's to recompute, and an activation that has none
/// (the first, or one whose silo was lost) asks the scheduler once. An activation that learns its deployment does not
/// exist goes away when idle, so ids made up by a caller do not linger.
/// </summary>
public sealed class DeploymentRoutesGrain : Grain, IDeploymentRoutesGrain
{
    private DeploymentRoutes? _routes;

    public Task SetAsync(DeploymentRoutes routes)
    {
        Take(routes);
        return Task.CompletedTask;
    }

    public async Task<DeploymentRoutes> GetAsync()
    {
        if (_routes is null)
        {
            Take(await GrainFactory.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).GetRoutesAsync(GrainKeys.IdOf(this.GetPrimaryKeyString())));
        }

        return _routes!;
    }

    private void Take(DeploymentRoutes routes)
    {
        if (_routes is null || routes.Version > _routes.Version)
        {
            _routes = routes;
        }

        if (_routes.Inputs is null)
        {
            DeactivateOnIdle();
        }
    }
}
