namespace ControlPlane.Simulator.Simulation;

/// <summary>
/// A node's local model cache as the simulation keeps it: models whose weights the node holds, least recently used
/// first, within its size. A model a replica on the node runs is never evicted.
/// </summary>
internal sealed class NodeCache(double capacityGB)
{
    private readonly LinkedList<(string Model, double GB)> _models = new();

    public double CapacityGB { get; } = capacityGB;

    public double UsedGB { get; private set; }

    public long FreeBytes => (long)(Math.Max(0, CapacityGB - UsedGB) * 1e9);

    public bool Contains(string model) => Find(model) is not null;

    /// <summary>The models held, with their size in bytes.</summary>
    public IEnumerable<(string Model, long Bytes)> Models => _models.Select(m => (m.Model, (long)(m.GB * 1e9)));

    /// <summary>Marks a model as just used.</summary>
    public void Touch(string model)
    {
        if (Find(model) is { } node)
        {
            _models.Remove(node);
            _models.AddLast(node);
        }
    }

    /// <summary>Adds a model, evicting the least recently used ones not in <paramref name="inUse"/> to make room; false when it cannot fit.</summary>
    public bool Add(string model, double gb, IReadOnlySet<string> inUse)
    {
        if (Contains(model))
        {
            Touch(model);
            return false;
        }

        if (gb > CapacityGB)
        {
            return false;
        }

        for (var node = _models.First; node is not null && UsedGB + gb > CapacityGB;)
        {
            var next = node.Next;
            if (!inUse.Contains(node.Value.Model))
            {
                UsedGB -= node.Value.GB;
                _models.Remove(node);
            }

            node = next;
        }

        if (UsedGB + gb > CapacityGB)
        {
            return false;
        }

        _models.AddLast((model, gb));
        UsedGB += gb;
        return true;
    }

    /// <summary>A failed node comes back from repair with an empty cache (its disks may have been replaced).</summary>
    public void Clear()
    {
        _models.Clear();
        UsedGB = 0;
    }

    private LinkedListNode<(string Model, double GB)>? Find(string model)
    {
        for (var node = _models.First; node is not null; node = node.Next)
        {
            if (string.Equals(node.Value.Model, model, StringComparison.Ordinal))
            {
                return node;
            }
        }

        return null;
    }
}
