using System.Collections.Concurrent;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;

namespace ControlPlane.Server.Api.Deployments;

/// <summary>
/// Which deployment ids exist, as far as this silo has seen, so that a demand signal naming an id that exists
/// nowhere is answered without activating a deployment grain (an activation lives for minutes: thousands of made-up
/// ids would cost memory for that long). Ids are remembered once the scheduler, which holds every deployment's spec,
/// confirms them, so a steady gateway's signals never reach the scheduler; only ids not seen yet are asked about, in
/// one call per request. An id is forgotten when its grain answers that it has no deployment (deleted, perhaps through
/// another silo), so the set holds no more than the deployments there are.
/// </summary>
public sealed class DeploymentIndex(IGrainFactory grains)
{
    private readonly ConcurrentDictionary<string, byte> _known = new(StringComparer.Ordinal);

    /// <summary>The ids of <paramref name="deploymentIds"/> that exist.</summary>
    public async Task<IReadOnlySet<string>> ExistingAsync(IReadOnlyCollection<string> deploymentIds)
    {
        var existing = new HashSet<string>(StringComparer.Ordinal);
        var unseen = new List<string>();
        foreach (var id in deploymentIds)
        {
            if (_known.ContainsKey(id))
            {
                existing.Add(id);
            }
            else
            {
                unseen.Add(id);
            }
        }

        if (unseen.Count > 0)
        {
            foreach (var id in await grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).FindDeploymentsAsync(unseen))
            {
                _known.TryAdd(id, 0);
                existing.Add(id);
            }
        }

        return existing;
    }

    /// <summary>A deployment was created through this silo.</summary>
    public void Remember(string deploymentId) => _known.TryAdd(deploymentId, 0);

    /// <summary>A deployment was deleted, or its grain answered that it has none.</summary>
    public void Forget(string deploymentId) => _known.TryRemove(deploymentId, out _);
}
