using ControlPlane.Domain.Deployments;

namespace ControlPlane.Domain.Placement;

/// <summary>A dedicated deployment as pre-staging sees it: its spec and how many replicas it holds now.</summary>
public readonly record struct PrestageDeployment(DeploymentSpec Spec, int Placed);

/// <summary>
/// Where to copy model weights before they are needed. A dedicated deployment's next replicas are its burst, and a
/// burst that waits for a cold load (minutes for a large model) is demand not served; a warm load takes seconds. So
/// the nodes that would take a dedicated deployment's next replicas get its model in their prefetch list: the nodes
/// its reservation layout holds room on (where its reserved replicas go back after a loss), and the nodes
/// <see cref="PlacementPlanner"/> would pick for its next <see cref="Lookahead"/> replicas as the fleet is now.
/// A node is sent a model only if it has a model cache, does not hold the model warm yet, and the cache's free room
/// takes it (the model's size is the largest any node reports; a model no node holds yet is taken to fit).
/// </summary>
public static class Prestaging
{
    /// <summary>How many next replicas of each deployment are looked ahead for.</summary>
    public const int Lookahead = 2;

    /// <summary>The longest prefetch list a node is given: fetching is slow, and a long queue would only evict.</summary>
    public const int MaxModelsPerNode = 8;

    /// <summary>
    /// Each node's prefetch list (models in the order deployments are named), for nodes with something to fetch.
    /// The snapshot is used to plan the next replicas and is left as it was.
    /// </summary>
    public static IReadOnlyDictionary<string, string[]> Plan(
        FleetSnapshot snapshot, IEnumerable<PrestageDeployment> deployments, ReservationLayout? layout)
    {
        var lists = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var room = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (spec, placed) in deployments
                     .Where(d => d.Spec.Class == DeploymentClass.Dedicated)
                     .OrderBy(d => d.Spec.DeploymentId, StringComparer.Ordinal))
        {
            var bytes = snapshot.ModelBytes(spec.Model) ?? 0;
            foreach (var nodeId in NextNodes(snapshot, spec, placed, layout).Distinct(StringComparer.Ordinal))
            {
                if (snapshot.Find(nodeId) is not { Schedulable: true, CacheFreeBytes: { } free } node || node.IsWarm(spec.Model))
                {
                    continue;
                }

                if (!lists.TryGetValue(nodeId, out var list))
                {
                    lists[nodeId] = list = [];
                }

                var left = room.GetValueOrDefault(nodeId, free);
                if (list.Count >= MaxModelsPerNode || bytes > left || list.Contains(spec.Model, StringComparer.Ordinal))
                {
                    continue;
                }

                list.Add(spec.Model);
                room[nodeId] = left - bytes;
            }
        }

        return lists.Where(l => l.Value.Count > 0).ToDictionary(l => l.Key, l => l.Value.ToArray(), StringComparer.Ordinal);
    }

    /// <summary>The layout's nodes for the deployment, then where its next replicas would go.</summary>
    private static List<string> NextNodes(FleetSnapshot snapshot, DeploymentSpec spec, int placed, ReservationLayout? layout)
    {
        var nodes = new List<string>();
        foreach (var entry in layout?.Entries ?? [])
        {
            if (string.Equals(entry.DeploymentId, spec.DeploymentId, StringComparison.Ordinal))
            {
                nodes.Add(entry.NodeId);
            }
        }

        // Each planned replica is put in the snapshot so the next is planned beside it, then all are taken out again.
        // A plan that preempts is where that replica would go, but it is not applied: its victims could not be put back.
        var planned = new List<string>();
        try
        {
            var ahead = Math.Min(Lookahead, spec.MaxReplicas - placed);
            for (var i = 0; i < ahead; i++)
            {
                var tier = spec.TierOf(placed + i);
                if (PlacementPlanner.Plan(snapshot, spec, tier, layout) is not { } claim)
                {
                    break;
                }

                nodes.Add(claim.NodeId);
                var id = $"prestage:{spec.DeploymentId}:{i}";
                if (claim.Victims.Length > 0 || !snapshot.Apply(new GpuHolder(id, spec.DeploymentId, tier), claim).Succeeded)
                {
                    break;
                }

                planned.Add(id);
            }
        }
        finally
        {
            foreach (var id in planned)
            {
                snapshot.Release(id);
            }
        }

        return nodes;
    }
}
