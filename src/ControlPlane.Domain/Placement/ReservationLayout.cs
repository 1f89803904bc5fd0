using ControlPlane.Domain.Deployments;

namespace ControlPlane.Domain.Placement;

/// <summary>Room held on one node for reserved replicas of one deployment.</summary>
[GenerateSerializer, Alias("reservation-entry")]
public sealed record ReservationEntry(
    [property: Id(0)] string DeploymentId,
    [property: Id(1)] string NodeId,
    [property: Id(2)] int Replicas,
    [property: Id(3)] int GpusPerReplica);

/// <summary>
/// Where every accepted reservation has room, as <see cref="Admission.Reserve"/> laid it out: on each node,
/// the reserved replicas promised there fit its GPUs. Reserved replicas may still go elsewhere, but only
/// where that keeps every node's promises within its GPUs (<see cref="Admits"/>); then a deployment that
/// lacks a reserved replica always has room left on some node of its layout, and preempting the shared and
/// burst work there frees it, whatever order the replicas of all deployments arrive in. The layout holds for
/// the fleet it was made for: when nodes go down, are cordoned or join, the scheduler lays it out again.
/// </summary>
[GenerateSerializer, Alias("reservation-layout")]
public sealed record ReservationLayout([property: Id(0)] ReservationEntry[] Entries)
{
    [NonSerialized]
    private ReservationEntry[]? _indexed;

    [NonSerialized]
    private Dictionary<string, ReservationEntry[]>? _byNode;

    public static ReservationLayout Empty { get; } = new([]);

    /// <summary>The entries on a node.</summary>
    public IReadOnlyList<ReservationEntry> On(string nodeId) => Index().GetValueOrDefault(nodeId) ?? [];

    /// <summary>Reserved replicas of a deployment the layout holds room for, over all nodes.</summary>
    public int ReplicasOf(string deploymentId) =>
        Entries.Where(e => string.Equals(e.DeploymentId, deploymentId, StringComparison.Ordinal)).Sum(e => e.Replicas);

    /// <summary>
    /// Whether a reserved replica of <paramref name="deploymentId"/> may go on <paramref name="node"/>: the
    /// deployment has unused room there, or the node's GPUs still cover everything promised on it (the room
    /// of each deployment, or what its reserved replicas hold where that is more) plus this replica.
    /// </summary>
    public bool Admits(PlacementNode node, string deploymentId, int gpusPerReplica)
    {
        var entries = On(node.NodeId);
        var own = IndexOf(entries, deploymentId);
        if (own >= 0 && PlacedReplicas(node.Slots.Holders, deploymentId) < entries[own].Replicas)
        {
            return true;
        }

        return Committed(node.Slots.Holders, entries) + gpusPerReplica <= node.GpuCount;
    }

    /// <summary>
    /// GPUs a node has promised to reserved replicas: for each deployment with room there, that room or the
    /// GPUs its reserved replicas hold where that is more; plus the GPUs of reserved replicas without room there.
    /// </summary>
    internal static int Committed(GpuHolder?[] holders, IReadOnlyList<ReservationEntry> entries)
    {
        Span<int> placedGpus = stackalloc int[entries.Count];
        var committed = 0;
        foreach (var holder in holders)
        {
            if (holder is not { Tier: ReplicaTier.Reserved })
            {
                continue;
            }

            var i = IndexOf(entries, holder.DeploymentId);
            if (i < 0)
            {
                committed++;
            }
            else
            {
                placedGpus[i]++;
            }
        }

        for (var i = 0; i < entries.Count; i++)
        {
            committed += Math.Max(entries[i].Replicas * entries[i].GpusPerReplica, placedGpus[i]);
        }

        return committed;
    }

    private static int PlacedReplicas(GpuHolder?[] holders, string deploymentId)
    {
        var replicas = 0;
        for (var h = 0; h < holders.Length; h++)
        {
            if (holders[h] is { Tier: ReplicaTier.Reserved } holder
                && string.Equals(holder.DeploymentId, deploymentId, StringComparison.Ordinal)
                && IsFirstGpuOf(holders, h))
            {
                replicas++;
            }
        }

        return replicas;
    }

    private static bool IsFirstGpuOf(GpuHolder?[] holders, int index)
    {
        for (var h = 0; h < index; h++)
        {
            if (holders[h] is { } earlier && string.Equals(earlier.ReplicaId, holders[index]!.ReplicaId, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static int IndexOf(IReadOnlyList<ReservationEntry> entries, string deploymentId)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            if (string.Equals(entries[i].DeploymentId, deploymentId, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    // Built on first use and rebuilt if a `with` expression gave the record other entries.
    private Dictionary<string, ReservationEntry[]> Index()
    {
        if (_byNode is null || !ReferenceEquals(_indexed, Entries))
        {
            _byNode = Entries.GroupBy(e => e.NodeId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
            _indexed = Entries;
        }

        return _byNode;
    }

    public bool Equals(ReservationLayout? other) => other is not null && ValueArrays.Equal(Entries, other.Entries);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        ValueArrays.Add(ref hash, Entries);
        return hash.ToHashCode();
    }
}
