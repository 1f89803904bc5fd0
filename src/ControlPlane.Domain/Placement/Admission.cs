using ControlPlane.Domain.Deployments;

namespace ControlPlane.Domain.Placement;

/// <summary>
/// Admission control for reservations: a dedicated deployment's reserved replicas are accepted only if all
/// reserved replicas (of every customer, with the new ones) could hold GPUs at the same time should all
/// shared and burst work be preempted.
/// </summary>
public static class Admission
{
    /// <summary>
    /// Whether <paramref name="newSpec"/>'s reservation can be accepted beside <paramref name="existingDedicatedSpecs"/>
    /// (a spec with the same id as the new one is replaced by it). A spec without reserved replicas is always
    /// accepted. Conservative, see <see cref="Reserve"/>.
    /// </summary>
    /// <param name="current">The layout the existing reservations are kept to, when there is one.</param>
    public static bool CanReserve(FleetSnapshot snapshot, IEnumerable<DeploymentSpec> existingDedicatedSpecs, DeploymentSpec newSpec, ReservationLayout? current = null)
    {
        if (newSpec.Class != DeploymentClass.Dedicated || newSpec.ReservedReplicas <= 0)
        {
            return true;
        }

        var specs = existingDedicatedSpecs
            .Where(s => !string.Equals(s.DeploymentId, newSpec.DeploymentId, StringComparison.Ordinal))
            .Append(newSpec);
        return Reserve(snapshot, specs, current) is not null;
    }

    /// <summary>
    /// Lays out room for every reserved replica of <paramref name="dedicatedSpecs"/> on the schedulable nodes,
    /// or returns null when it finds no room for one. It first keeps <paramref name="current"/> (the room that
    /// still exists on compatible schedulable nodes) and adds what is missing; failing that, it starts again
    /// from the reserved replicas already placed, which keep their GPUs. Missing room is found by a
    /// deterministic greedy: largest replicas first (the deployment with the fewest compatible nodes first
    /// among equals), each on the compatible node where it fits most tightly, cheaper and owned nodes first
    /// among equals.
    /// <para>
    /// This is conservative: the greedy can miss a packing that exists (bin packing is NP-hard), and keeping
    /// placed reserved replicas and earlier room where they are can leave GPUs fragmented. It never accepts
    /// what cannot be honoured: the layout it returns is a packing that also holds every reserved replica
    /// already placed, and <see cref="PlacementPlanner"/> keeps to it.
    /// </para>
    /// </summary>
    public static ReservationLayout? Reserve(FleetSnapshot snapshot, IEnumerable<DeploymentSpec> dedicatedSpecs, ReservationLayout? current = null)
    {
        var specs = new Dictionary<string, DeploymentSpec>(StringComparer.Ordinal);
        foreach (var spec in dedicatedSpecs)
        {
            if (spec.Class == DeploymentClass.Dedicated && spec.ReservedReplicas > 0 && spec.GpusPerReplica > 0)
            {
                specs[spec.DeploymentId] = spec;
            }
        }

        var nodes = snapshot.Nodes.Where(n => n.Schedulable && n.GpuCount > 0).ToArray();
        return (current is null ? null : Complete(nodes, specs, Kept(current, nodes, specs)))
            ?? Complete(nodes, specs, Pinned(nodes, specs));
    }

    /// <summary>The current layout's room that is still usable: on schedulable compatible nodes, for the same replica size.</summary>
    private static Entries Kept(ReservationLayout current, PlacementNode[] nodes, Dictionary<string, DeploymentSpec> specs)
    {
        var byId = nodes.ToDictionary(n => n.NodeId, StringComparer.Ordinal);
        var entries = new Entries();
        var kept = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in current.Entries)
        {
            if (specs.TryGetValue(entry.DeploymentId, out var spec)
                && entry.GpusPerReplica == spec.GpusPerReplica
                && byId.TryGetValue(entry.NodeId, out var node)
                && PlacementPlanner.IsCompatible(spec, node))
            {
                var replicas = Math.Min(entry.Replicas, spec.ReservedReplicas - kept.GetValueOrDefault(spec.DeploymentId));
                if (replicas > 0)
                {
                    kept[spec.DeploymentId] = kept.GetValueOrDefault(spec.DeploymentId) + replicas;
                    entries.Add(spec.DeploymentId, node.NodeId, replicas);
                }
            }
        }

        return entries;
    }

    /// <summary>
    /// Room for the reserved replicas already placed. One of another size than its spec asks (being migrated)
    /// or beyond the reservation only takes up GPUs.
    /// </summary>
    private static Entries Pinned(PlacementNode[] nodes, Dictionary<string, DeploymentSpec> specs)
    {
        var entries = new Entries();
        var pinned = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            foreach (var replica in node.Slots.Replicas())
            {
                if (replica.Tier == ReplicaTier.Reserved
                    && specs.TryGetValue(replica.DeploymentId, out var spec)
                    && node.Slots.GpusOf(replica.ReplicaId).Length == spec.GpusPerReplica
                    && pinned.GetValueOrDefault(spec.DeploymentId) < spec.ReservedReplicas)
                {
                    pinned[spec.DeploymentId] = pinned.GetValueOrDefault(spec.DeploymentId) + 1;
                    entries.Add(spec.DeploymentId, node.NodeId, 1);
                }
            }
        }

        return entries;
    }

    /// <summary>Adds the room that <paramref name="entries"/> lacks, or returns null when it does not fit.</summary>
    private static ReservationLayout? Complete(PlacementNode[] nodes, Dictionary<string, DeploymentSpec> specs, Entries entries)
    {
        var room = new int[nodes.Length];
        for (var i = 0; i < nodes.Length; i++)
        {
            var onNode = entries.On(nodes[i].NodeId).Select(e => new ReservationEntry(e.Key, nodes[i].NodeId, e.Value, specs[e.Key].GpusPerReplica)).ToArray();
            room[i] = nodes[i].GpuCount - ReservationLayout.Committed(nodes[i].Slots.Holders, onNode);
            if (room[i] < 0)
            {
                return null;
            }
        }

        var pending = specs.Values
            .Select(s => (Spec: s, Missing: s.ReservedReplicas - entries.ReplicasOf(s.DeploymentId)))
            .Where(p => p.Missing > 0)
            .Select(p => (p.Spec, p.Missing, Nodes: Enumerable.Range(0, nodes.Length).Where(i => PlacementPlanner.IsCompatible(p.Spec, nodes[i])).ToArray()))
            .OrderByDescending(p => p.Spec.GpusPerReplica)
            .ThenBy(p => p.Nodes.Length)
            .ThenBy(p => p.Spec.DeploymentId, StringComparer.Ordinal);

        foreach (var (spec, missing, compatible) in pending)
        {
            var size = spec.GpusPerReplica;
            for (var replica = 0; replica < missing; replica++)
            {
                var best = -1;
                foreach (var i in compatible)
                {
                    if (room[i] >= size && (best < 0 || Tighter(nodes[i], room[i], nodes[best], room[best])))
                    {
                        best = i;
                    }
                }

                if (best < 0)
                {
                    return null;
                }

                room[best] -= size;
                entries.Add(spec.DeploymentId, nodes[best].NodeId, 1);
            }
        }

        return new ReservationLayout(entries.All()
            .Select(e => new ReservationEntry(e.Deployment, e.Node, e.Replicas, specs[e.Deployment].GpusPerReplica))
            .ToArray());
    }

    // Nodes come ordered by id, so an earlier node wins a full tie.
    private static bool Tighter(PlacementNode a, int roomA, PlacementNode b, int roomB)
    {
        if (roomA != roomB)
        {
            return roomA < roomB;
        }

        var c = a.HourlyCostPerGpuUsd.CompareTo(b.HourlyCostPerGpuUsd);
        return c != 0 ? c < 0 : a.Ownership < b.Ownership;
    }

    /// <summary>Reserved replicas per (deployment, node), kept in a stable order.</summary>
    private sealed class Entries
    {
        private readonly SortedDictionary<string, SortedDictionary<string, int>> _byNode = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _byDeployment = new(StringComparer.Ordinal);

        public void Add(string deploymentId, string nodeId, int replicas)
        {
            if (!_byNode.TryGetValue(nodeId, out var onNode))
            {
                _byNode[nodeId] = onNode = new SortedDictionary<string, int>(StringComparer.Ordinal);
            }

            onNode[deploymentId] = onNode.GetValueOrDefault(deploymentId) + replicas;
            _byDeployment[deploymentId] = _byDeployment.GetValueOrDefault(deploymentId) + replicas;
        }

        public IEnumerable<KeyValuePair<string, int>> On(string nodeId) => _byNode.GetValueOrDefault(nodeId) ?? [];

        public int ReplicasOf(string deploymentId) => _byDeployment.GetValueOrDefault(deploymentId);

        public IEnumerable<(string Deployment, string Node, int Replicas)> All() =>
            _byNode
                .SelectMany(n => n.Value.Select(d => (Deployment: d.Key, Node: n.Key, Replicas: d.Value)))
                .OrderBy(e => e.Deployment, StringComparer.Ordinal)
                .ThenBy(e => e.Node, StringComparer.Ordinal);
    }
}
