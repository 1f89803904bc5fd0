using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Domain.Deployments;

namespace ControlPlane.Grains.Deployments;

/// <summary>
/// The routing answer's read models: the scheduler computes each deployment's routes (its routable replicas, and what
/// its weighted routes are computed from) whenever something they depend on may have moved (the same changes that move
/// the scaling figures, among them a sweep that finds another set of silent nodes with replicas, since a node falls out
/// of routing with time), and pushes to its
/// <see cref="IDeploymentRoutesGrain"/> only those that changed. So the gateway's routing never calls this grain, and
/// answers the last routes known while it is busy or failing over.
/// </summary>
public sealed partial class SchedulerGrain
{
    // The routes each read model was last given (a failed push is not recorded, so the next pass sends it again), the
    // deployments deleted whose read models have not heard so, and the loop that pushes.
    private readonly Dictionary<string, DeploymentRoutes> _routesSent = new(StringComparer.Ordinal);
    private readonly HashSet<string> _routesGone = new(StringComparer.Ordinal);
    private Task _routesLoop = Task.CompletedTask;
    private bool _routesDirty;
    private long _routesVersion;

    public async Task<DeploymentRoutes> GetRoutesAsync(string deploymentId)
    {
        await RebuiltAsync();
        var routable = RoutableReplicas();
        return _model.Deployments.TryGetValue(deploymentId, out var deployment)
            ? RoutesOf(deployment.Spec, Demands(), routable) with { Version = NextRoutesVersion() }
            : new DeploymentRoutes(NextRoutesVersion(), [], null);
    }

    /// <summary>Something routes depend on may have moved; one loop at a time pushes the routes that changed.</summary>
    private void RoutesChanged()
    {
        _routesDirty = true;
        if (_routesLoop.IsCompleted)
        {
            _routesLoop = ObservedAsync(PushRoutesAsync, "routes");
        }
    }

    private async Task PushRoutesAsync()
    {
        try
        {
            await RebuiltAsync();
        }
        catch (Exception)
        {
            // The reconcile loop logs it; the next change or sweep tries again.
            return;
        }

        while (_routesDirty)
        {
            _routesDirty = false;
            var demands = Demands();
            var routable = RoutableReplicas();
            var pushes = new List<Task>();
            foreach (var deployment in _model.Deployments.Values)
            {
                var routes = RoutesOf(deployment.Spec, demands, routable);
                if (!_routesSent.TryGetValue(deployment.Spec.DeploymentId, out var sent) || !SameRoutes(sent, routes))
                {
                    pushes.Add(PushRoutesAsync(deployment.Spec.DeploymentId, routes with { Version = NextRoutesVersion() }));
                }
            }

            foreach (var id in _routesSent.Keys.Concat(_routesGone).Where(id => !_model.Deployments.ContainsKey(id)).Distinct(StringComparer.Ordinal).ToArray())
            {
                pushes.Add(PushRoutesAsync(id, new DeploymentRoutes(NextRoutesVersion(), [], null)));
            }

            await Task.WhenAll(pushes);
        }
    }

    private async Task PushRoutesAsync(string deploymentId, DeploymentRoutes routes)
    {
        try
        {
            await GrainFactory.GetGrain<IDeploymentRoutesGrain>(GrainKeys.DeploymentRoutes(deploymentId)).SetAsync(routes);
            if (routes.Inputs is null)
            {
                _routesSent.Remove(deploymentId);
                _routesGone.Remove(deploymentId);
            }
            else
            {
                _routesSent[deploymentId] = routes;
            }
        }
        catch (Exception e)
        {
            LogDeploymentUnreachable(deploymentId, e.Message);
        }
    }

    /// <summary>Every routable replica by deployment and by model, each in a stable order (so equal routes compare equal).</summary>
    private (ILookup<string, ScheduledReplica> ByDeployment, ILookup<string, ScheduledReplica> ByModel) RoutableReplicas()
    {
        var routable = _model.Replicas()
            .Where(IsRoutable)
            .OrderBy(r => r.Replica.DeploymentId, StringComparer.Ordinal)
            .ThenBy(r => r.Replica.ReplicaId, StringComparer.Ordinal)
            .ToArray();
        return (routable.ToLookup(r => r.Replica.DeploymentId, StringComparer.Ordinal), routable.ToLookup(r => r.Replica.Model, StringComparer.Ordinal));
    }

    /// <summary>
    /// A deployment's routes (version 0, set when sent): its routable replicas as endpoints; the demand of the deployments
    /// its routes depend on (<see cref="SharingPlan.DependenciesOf"/>, so a demand change elsewhere does not touch it); its
    /// own routable replicas whatever model they run (a migration's old ones still serve) and others' of its model.
    /// </summary>
    private DeploymentRoutes RoutesOf(
        DeploymentSpec spec, ModelDemand[] demands, (ILookup<string, ScheduledReplica> ByDeployment, ILookup<string, ScheduledReplica> ByModel) routable)
    {
        var id = spec.DeploymentId;
        var endpoints = _model.ReplicasOf(id).Where(IsRoutable).Select(ToView).ToArray();
        var replicas = routable.ByDeployment[id]
            .Where(r => !string.Equals(r.Replica.Model, spec.Model, StringComparison.Ordinal))
            .Concat(routable.ByModel[spec.Model])
            .OrderBy(r => r.Replica.DeploymentId, StringComparer.Ordinal)
            .ThenBy(r => r.Replica.ReplicaId, StringComparer.Ordinal)
            .Select(r => new RoutableReplica(r.Replica.DeploymentId, r.Replica.ReplicaId, r.NodeId, RegionOf(r)))
            .ToArray();
        return new DeploymentRoutes(0, endpoints, new RoutingInputs(SharingPlan.DependenciesOf(id, demands), replicas));
    }

    /// <summary>Grows with each computation, and past the last activation's (with the clock), so a read model keeps the newest.</summary>
    private long NextRoutesVersion() => _routesVersion = Math.Max(_routesVersion + 1, time.GetUtcNow().UtcTicks);

    private static bool SameRoutes(DeploymentRoutes a, DeploymentRoutes b) =>
        a.Endpoints.Count == b.Endpoints.Count
        && a.Endpoints.Zip(b.Endpoints).All(p => p.First with { GpuIndices = [] } == p.Second with { GpuIndices = [] } && p.First.GpuIndices.SequenceEqual(p.Second.GpuIndices))
        && (a.Inputs, b.Inputs) switch
        {
            (null, null) => true,
            ({ } x, { } y) => x.Deployments.SequenceEqual(y.Deployments) && x.Replicas.SequenceEqual(y.Replicas),
            _ => false,
        };
}
