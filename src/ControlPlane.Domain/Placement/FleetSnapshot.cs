using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;

namespace ControlPlane.Domain.Placement;

/// <summary>
/// A scheduler's working view of a region's nodes and who holds their GPUs, indexed for
/// <see cref="PlacementPlanner"/>: nodes that take new work are grouped by what placement compares
/// (region, SKU, memory, cost per GPU, ownership; groups kept cheapest first) and, within a group, bucketed by
/// free GPUs, so that finding free GPUs does not scan the fleet; nodes are also indexed by the models whose weights
/// they hold warm, so preferring a warm node looks only at the nodes that hold the model. Not thread-safe: one scheduler, one decision
/// at a time. The node grains stay the authority; the view follows them through <see cref="Apply"/>,
/// <see cref="Release"/>, <see cref="MarkDown"/> and <see cref="Upsert"/>.
/// </summary>
public sealed class FleetSnapshot
{
    private readonly Dictionary<string, NodeEntry> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeEntry> _replicas = new(StringComparer.Ordinal);
    private readonly Dictionary<GroupKey, NodeGroup> _groupsByKey = [];
    private readonly List<NodeGroup> _groups = [];
    private readonly Dictionary<string, HashSet<NodeEntry>> _warm = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<NodeEntry>> _sleeping = new(StringComparer.Ordinal);
    private int _gpuCount;

    public FleetSnapshot()
    {
    }

    public FleetSnapshot(IEnumerable<PlacementNode> nodes)
    {
        foreach (var node in nodes)
        {
            Upsert(node);
        }
    }

    public int NodeCount => _nodes.Count;

    public int GpuCount => _gpuCount;

    /// <summary>The nodes, by id.</summary>
    public IEnumerable<PlacementNode> Nodes => _nodes.Values.Select(e => e.Node).OrderBy(n => n.NodeId, StringComparer.Ordinal);

    public PlacementNode? Find(string nodeId) => _nodes.TryGetValue(nodeId, out var entry) ? entry.Node : null;

    /// <summary>The node a replica holds GPUs on, or null.</summary>
    public string? NodeOf(string replicaId) => _replicas.TryGetValue(replicaId, out var entry) ? entry.Node.NodeId : null;

    internal IReadOnlyList<NodeGroup> Groups => _groups;

    /// <summary>The nodes that hold <paramref name="model"/>'s weights warm (schedulable or not).</summary>
    internal IReadOnlyCollection<NodeEntry> WarmEntries(string model) =>
        _warm.TryGetValue(model, out var entries) ? entries : [];

    /// <summary>The nodes where an engine of <paramref name="deploymentId"/> sleeps (schedulable or not).</summary>
    internal IReadOnlyCollection<NodeEntry> SleepingEntries(string deploymentId) =>
        _sleeping.TryGetValue(deploymentId, out var entries) ? entries : [];

    /// <summary>Engines of <paramref name="deploymentId"/> asleep on the nodes the snapshot knows, with their node.</summary>
    public IEnumerable<(string NodeId, SleepingEngine Engine)> SleepingOf(string deploymentId) =>
        SleepingEntries(deploymentId)
            .SelectMany(e => (e.Node.Sleeping ?? []).Where(s => string.Equals(s.DeploymentId, deploymentId, StringComparison.Ordinal)).Select(s => (e.Node.NodeId, s)))
            .OrderBy(s => s.NodeId, StringComparer.Ordinal);

    /// <summary>Ids of the nodes that hold <paramref name="model"/>'s weights warm.</summary>
    public IEnumerable<string> WarmNodes(string model) => WarmEntries(model).Select(e => e.Node.NodeId).Order(StringComparer.Ordinal);

    /// <summary>The size of <paramref name="model"/>'s weights, the largest any node reports; null when no node holds it.</summary>
    public long? ModelBytes(string model)
    {
        long? bytes = null;
        foreach (var entry in WarmEntries(model))
        {
            foreach (var warm in entry.Node.WarmModels ?? [])
            {
                if (string.Equals(warm.Model, model, StringComparison.Ordinal) && (bytes is null || warm.Bytes > bytes))
                {
                    bytes = warm.Bytes;
                }
            }
        }

        return bytes;
    }

    /// <summary>
    /// Adds a node or replaces what is known about it (state, inventory or slots as its grain reports them).
    /// Should two nodes report the same replica (a move seen out of order), the later report wins for
    /// <see cref="NodeOf"/> and <see cref="Release"/>.
    /// </summary>
    public void Upsert(PlacementNode node)
    {
        if (_nodes.TryGetValue(node.NodeId, out var entry))
        {
            Detach(entry);
            Unindex(entry);
            entry.Node = node;
        }
        else
        {
            entry = new NodeEntry(node);
            _nodes.Add(node.NodeId, entry);
        }

        Attach(entry);
        foreach (var warm in node.WarmModels ?? [])
        {
            if (!_warm.TryGetValue(warm.Model, out var entries))
            {
                _warm[warm.Model] = entries = [];
            }

            entries.Add(entry);
        }

        foreach (var sleeping in node.Sleeping ?? [])
        {
            if (!_sleeping.TryGetValue(sleeping.DeploymentId, out var entries))
            {
                _sleeping[sleeping.DeploymentId] = entries = [];
            }

            entries.Add(entry);
        }
    }

    public bool Remove(string nodeId)
    {
        if (!_nodes.Remove(nodeId, out var entry))
        {
            return false;
        }

        Detach(entry);
        Unindex(entry);
        return true;
    }

    private void Unindex(NodeEntry entry)
    {
        foreach (var warm in entry.Node.WarmModels ?? [])
        {
            if (_warm.TryGetValue(warm.Model, out var entries) && entries.Remove(entry) && entries.Count == 0)
            {
                _warm.Remove(warm.Model);
            }
        }

        foreach (var sleeping in entry.Node.Sleeping ?? [])
        {
            if (_sleeping.TryGetValue(sleeping.DeploymentId, out var entries) && entries.Remove(entry) && entries.Count == 0)
            {
                _sleeping.Remove(sleeping.DeploymentId);
            }
        }
    }

    /// <summary>
    /// Records a claim the way the node applies it (<see cref="NodeSlots.TryClaim(GpuHolder, GpuClaim)"/>),
    /// refusing it the same way; a replica that already holds GPUs on another node is refused too.
    /// </summary>
    public ClaimOutcome Apply(GpuHolder holder, GpuClaim claim)
    {
        if (!_nodes.TryGetValue(claim.NodeId, out var entry))
        {
            return new ClaimOutcome(ClaimStatus.UnknownNode, NodeSlots.Empty(0), []);
        }

        if (_replicas.TryGetValue(holder.ReplicaId, out var current) && current != entry)
        {
            return new ClaimOutcome(ClaimStatus.ReplicaHoldsOtherGpus, entry.Node.Slots, []);
        }

        var outcome = entry.Node.Slots.TryClaim(holder, claim);
        if (outcome.Status == ClaimStatus.Claimed)
        {
            SetSlots(entry, outcome.Slots);
        }

        return outcome;
    }

    /// <summary>Frees a replica's GPUs; false when it holds none.</summary>
    public bool Release(string replicaId)
    {
        if (!_replicas.TryGetValue(replicaId, out var entry))
        {
            return false;
        }

        SetSlots(entry, entry.Node.Slots.Release(replicaId));
        return true;
    }

    /// <summary>A node went down: it takes no new work and its replicas are gone (returned, to be re-placed).</summary>
    public IReadOnlyList<GpuHolder> MarkDown(string nodeId)
    {
        if (!_nodes.TryGetValue(nodeId, out var entry))
        {
            return [];
        }

        var lost = entry.Node.Slots.Replicas();
        Detach(entry);
        entry.Node = entry.Node with { Schedulable = false, Slots = entry.Node.Slots.ReleaseAll() };
        Attach(entry);
        return lost;
    }

    private void SetSlots(NodeEntry entry, NodeSlots slots)
    {
        Detach(entry);
        entry.Node = entry.Node with { Slots = slots };
        Attach(entry);
    }

    private void Attach(NodeEntry entry)
    {
        entry.Refresh();
        _gpuCount += entry.Node.GpuCount;
        foreach (var replica in entry.Replicas)
        {
            _replicas[replica.Holder.ReplicaId] = entry;
        }

        if (!entry.Node.Schedulable || entry.Node.GpuCount == 0)
        {
            return;
        }

        var key = GroupKey.Of(entry.Node);
        if (!_groupsByKey.TryGetValue(key, out var group))
        {
            group = new NodeGroup(key);
            _groupsByKey.Add(key, group);
            var at = _groups.BinarySearch(group, NodeGroup.Preference);
            _groups.Insert(at < 0 ? ~at : at, group);
        }

        group.Add(entry);
    }

    private void Detach(NodeEntry entry)
    {
        _gpuCount -= entry.Node.GpuCount;
        foreach (var replica in entry.Replicas)
        {
            if (_replicas.TryGetValue(replica.Holder.ReplicaId, out var owner) && owner == entry)
            {
                _replicas.Remove(replica.Holder.ReplicaId);
            }
        }

        entry.Group?.Remove(entry);
    }
}

/// <summary>
/// A replica on a node, how many of its GPUs it holds, and how many of those a sleeping engine on the node would wake on
/// (<see cref="NodeEntry.UnderSleepers"/>): preempting it for another replica takes that wake away.
/// </summary>
internal readonly record struct ReplicaOnNode(GpuHolder Holder, int Gpus, int Sleepers = 0);

/// <summary>What placement compares between nodes, apart from their slots.</summary>
internal readonly record struct GroupKey(string Region, string Sku, int GpuMemoryGiB, decimal CostPerGpu, Ownership Ownership)
{
    public static GroupKey Of(PlacementNode node) =>
        new(node.Region, node.Sku, node.GpuMemoryGiB, node.HourlyCostPerGpuUsd, node.Ownership);
}

/// <summary>A node in the snapshot, with what the planner reads of it kept ready.</summary>
internal sealed class NodeEntry(PlacementNode node)
{
    private long[]? _victimKeys;

    public PlacementNode Node { get; set; } = node;

    public NodeGroup? Group { get; set; }

    /// <summary>Position in <see cref="NodeGroup.Members"/>, for removal without a search.</summary>
    public int MemberIndex { get; set; }

    /// <summary>The free-GPU bucket the node is filed under in its group.</summary>
    public int FiledFree { get; set; }

    /// <summary>Per level of <see cref="NodeGroup.ByObtainable"/>: the bucket the node is filed under and its place in it.</summary>
    public int[] FiledObtainable { get; } = new int[NodeGroup.Levels];

    public int[] ObtainableIndex { get; } = new int[NodeGroup.Levels];

    public int Free { get; private set; }

    /// <summary>GPUs held per tier, indexed by <see cref="ReplicaTier"/>.</summary>
    public int[] TierGpus { get; } = new int[4];

    public ReplicaOnNode[] Replicas { get; private set; } = [];

    /// <summary>
    /// The node's GPUs (bit i for GPU i, the first 64) that some engine asleep on the node would wake on. Placement keeps
    /// off them when it has the choice: a replica placed there turns that engine's next wake (seconds) into a load (minutes).
    /// </summary>
    public ulong UnderSleepers { get; private set; }

    /// <summary>Free GPUs under sleeping engines (<see cref="UnderSleepers"/>).</summary>
    public int FreeUnderSleepers { get; private set; }

    public bool IsUnderSleeper(int gpu) => gpu is >= 0 and < 64 && (UnderSleepers & (1UL << gpu)) != 0;

    public void Refresh()
    {
        Array.Clear(TierGpus);
        var holders = Node.Slots.Holders;
        var sleepers = 0UL;
        foreach (var engine in Node.Sleeping ?? [])
        {
            if (engine.Batch)
            {
                continue;
            }

            foreach (var gpu in engine.GpuIndices)
            {
                if (gpu is >= 0 and < 64)
                {
                    sleepers |= 1UL << gpu;
                }
            }
        }

        UnderSleepers = sleepers;
        var free = 0;
        var freeUnderSleepers = 0;
        var replicas = new List<ReplicaOnNode>();
        for (var gpu = 0; gpu < holders.Length; gpu++)
        {
            var holder = holders[gpu];
            var under = IsUnderSleeper(gpu) ? 1 : 0;
            if (holder is null)
            {
                free++;
                freeUnderSleepers += under;
                continue;
            }

            TierGpus[(int)holder.Tier]++;
            var i = replicas.FindIndex(r => string.Equals(r.Holder.ReplicaId, holder.ReplicaId, StringComparison.Ordinal));
            if (i < 0)
            {
                replicas.Add(new ReplicaOnNode(holder, 1, under));
            }
            else
            {
                replicas[i] = replicas[i] with { Gpus = replicas[i].Gpus + 1, Sleepers = replicas[i].Sleepers + under };
            }
        }

        Free = free;
        FreeUnderSleepers = freeUnderSleepers;
        Replicas = replicas.ToArray();
        if (_victimKeys is not null)
        {
            Array.Clear(_victimKeys);
        }
    }

    /// <summary>GPUs free or held by replicas of <paramref name="level"/> or below: what preempting up to that tier can give.</summary>
    public int ObtainableUpTo(ReplicaTier level)
    {
        var total = Free;
        for (var t = 0; t <= (int)level; t++)
        {
            total += TierGpus[t];
        }

        return total;
    }

    /// <summary>The cost key of the best victims for <paramref name="need"/> more GPUs (see <see cref="VictimSearch"/>), cached until the slots change.</summary>
    public long VictimKey(ReplicaTier tier, int need)
    {
        var width = Node.GpuCount + 1;
        _victimKeys ??= new long[3 * width];
        var slot = ((int)tier - 1) * width + need;
        if (_victimKeys[slot] == 0)
        {
            // The claim takes the node's free GPUs too: those under sleeping engines count against the node.
            var key = VictimSearch.Best(Replicas, tier, need, out _);
            _victimKeys[slot] = key == VictimSearch.Infeasible ? key : VictimSearch.WithSleepers(key, VictimSearch.Sleepers(key) + FreeUnderSleepers);
        }

        return _victimKeys[slot];
    }

    public GpuHolder[] Victims(ReplicaTier tier, int need)
    {
        VictimSearch.Best(Replicas, tier, need, out var chosen);
        return chosen;
    }
}

/// <summary>Schedulable nodes that placement cannot tell apart but by their slots.</summary>
internal sealed class NodeGroup(GroupKey key)
{
    private static readonly Comparer<NodeEntry> ById = Comparer<NodeEntry>.Create((a, b) => string.CompareOrdinal(a.Node.NodeId, b.Node.NodeId));

    /// <summary>Cheapest per GPU first, owned before rented at equal cost; the rest only makes the order total.</summary>
    public static readonly Comparer<NodeGroup> Preference = Comparer<NodeGroup>.Create((a, b) =>
    {
        var c = ComparePrice(a, b);
        if (c != 0)
        {
            return c;
        }

        c = string.CompareOrdinal(a.Key.Region, b.Key.Region);
        if (c != 0)
        {
            return c;
        }

        c = string.CompareOrdinal(a.Key.Sku, b.Key.Sku);
        return c != 0 ? c : a.Key.GpuMemoryGiB.CompareTo(b.Key.GpuMemoryGiB);
    });

    /// <summary>Preemption levels: batch, serverless, burst (reserved replicas are never preempted).</summary>
    public const int Levels = 3;

    public GroupKey Key { get; } = key;

    public List<NodeEntry> Members { get; } = [];

    /// <summary>Nodes by free GPUs (index = free count), each bucket ordered by node id.</summary>
    public List<SortedSet<NodeEntry>> ByFree { get; } = [];

    /// <summary>
    /// Per preemption level (a <see cref="ReplicaTier"/> below reserved), nodes by the GPUs that are free or
    /// held at that tier or below (index = that count). The planner looks for victims at the lowest level where
    /// some node has enough, touching only those nodes.
    /// </summary>
    public List<NodeEntry>[][] ByObtainable { get; } = [[], [], []];

    public static int ComparePrice(NodeGroup a, NodeGroup b)
    {
        var c = a.Key.CostPerGpu.CompareTo(b.Key.CostPerGpu);
        return c != 0 ? c : a.Key.Ownership.CompareTo(b.Key.Ownership);
    }

    /// <summary>Whether a deployment's SKU, region and memory filters let it run on this group's nodes.</summary>
    public bool Admits(DeploymentSpec spec) =>
        Key.GpuMemoryGiB >= spec.MinGpuMemoryGiB
        && Allows(spec.Regions, Key.Region)
        && Allows(spec.Skus, Key.Sku);

    public void Add(NodeEntry entry)
    {
        entry.Group = this;
        entry.MemberIndex = Members.Count;
        Members.Add(entry);
        while (ByFree.Count <= entry.Free)
        {
            ByFree.Add(new SortedSet<NodeEntry>(ById));
        }

        entry.FiledFree = entry.Free;
        ByFree[entry.Free].Add(entry);

        for (var level = 0; level < Levels; level++)
        {
            var count = entry.ObtainableUpTo((ReplicaTier)level);
            var buckets = ByObtainable[level];
            if (buckets.Length <= count)
            {
                var grown = new List<NodeEntry>[count + 1];
                buckets.CopyTo(grown, 0);
                for (var i = buckets.Length; i < grown.Length; i++)
                {
                    grown[i] = [];
                }

                ByObtainable[level] = buckets = grown;
            }

            entry.FiledObtainable[level] = count;
            entry.ObtainableIndex[level] = buckets[count].Count;
            buckets[count].Add(entry);
        }
    }

    public void Remove(NodeEntry entry)
    {
        var last = Members[^1];
        Members[entry.MemberIndex] = last;
        last.MemberIndex = entry.MemberIndex;
        Members.RemoveAt(Members.Count - 1);
        ByFree[entry.FiledFree].Remove(entry);
        for (var level = 0; level < Levels; level++)
        {
            var bucket = ByObtainable[level][entry.FiledObtainable[level]];
            var at = entry.ObtainableIndex[level];
            var moved = bucket[^1];
            bucket[at] = moved;
            moved.ObtainableIndex[level] = at;
            bucket.RemoveAt(bucket.Count - 1);
        }

        entry.Group = null;
    }

    internal static bool Allows(string[]? allowList, string value) =>
        allowList is null || Array.Exists(allowList, a => string.Equals(a, value, StringComparison.OrdinalIgnoreCase));
}
