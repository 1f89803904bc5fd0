using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;

namespace ControlPlane.Domain.Placement;

/// <summary>
/// Decides where one replica goes. A replica needs <see cref="DeploymentSpec.GpusPerReplica"/> GPUs on one
/// schedulable node whose SKU, region and GPU memory the spec allows. In order of preference:
/// <list type="number">
/// <item>For a dedicated replica (reserved or burst), the GPUs of an engine of its own deployment asleep on a node
/// (<see cref="Fleet.SleepingEngine"/>): waking it takes seconds where any load takes minutes, so it wins even when it
/// must preempt the shared work lodging on those GPUs (never an equal or higher tier): the fewest victims, then the
/// fewest GPUs preempted, then node id.</item>
/// <item>Free GPUs, without preempting anyone: on a node that holds the model's weights warm if one has room (a
/// warm load takes seconds, a cold one minutes), then on the cheapest GPUs per hour, owned before rented at equal
/// cost, then on the node whose free GPUs fit the replica most tightly (so whole nodes stay free for large
/// replicas), then by node id.</item>
/// <item>Otherwise GPUs held by replicas of strictly lower tiers, preempting them: the fewest burst victims,
/// then the fewest serverless, then the fewest batch (batch goes first, and one replica that frees enough
/// beats several), then the fewest GPUs preempted; then a warm node before a cold one, cost and ownership as
/// above, the tightest fit, and node id.</item>
/// </list>
/// A reserved replica planned with a <see cref="ReservationLayout"/> goes only where the layout admits it, which
/// is what keeps every accepted reservation obtainable.
/// </summary>
public static class PlacementPlanner
{
    /// <summary>
    /// The claim for one replica of <paramref name="spec"/> at <paramref name="tier"/>, or null when nothing fits
    /// even by preempting every lower tier. The snapshot is not changed: send the claim to the node, then
    /// record the node's answer with <see cref="FleetSnapshot.Apply"/>.
    /// </summary>
    public static GpuClaim? Plan(FleetSnapshot snapshot, DeploymentSpec spec, ReplicaTier tier, ReservationLayout? reservations = null)
    {
        var need = spec.GpusPerReplica;
        if (need < 1)
        {
            return null;
        }

        var layout = tier == ReplicaTier.Reserved ? reservations : null;
        if (PlanWake(snapshot, spec, tier, need, layout) is { } wake)
        {
            return wake;
        }

        var free = PlanFree(snapshot, spec, need, layout);
        if (free is not null)
        {
            return new GpuClaim(free.Node.NodeId, FreeGpus(free, need), []);
        }

        return tier == ReplicaTier.Batch ? null : PlanPreemption(snapshot, spec, tier, need, layout);
    }

    /// <summary>Whether a node's hardware and place suit a spec: SKU, region, memory per GPU and GPU count (not its state).</summary>
    public static bool IsCompatible(DeploymentSpec spec, PlacementNode node) =>
        node.GpuCount >= spec.GpusPerReplica
        && node.GpuMemoryGiB >= spec.MinGpuMemoryGiB
        && NodeGroup.Allows(spec.Regions, node.Region)
        && NodeGroup.Allows(spec.Skus, node.Sku);

    /// <summary>
    /// The GPUs of a sleeping engine of the deployment that the replica can take, free or held only by lower tiers
    /// (which it preempts), on a node that takes new work; null when there is none.
    /// </summary>
    private static GpuClaim? PlanWake(FleetSnapshot snapshot, DeploymentSpec spec, ReplicaTier tier, int need, ReservationLayout? layout)
    {
        GpuClaim? best = null;
        var bestVictimGpus = 0;
        foreach (var entry in snapshot.SleepingEntries(spec.DeploymentId))
        {
            if (entry.Group is null || !entry.Group.Admits(spec) || (layout is not null && !layout.Admits(entry.Node, spec.DeploymentId, need)))
            {
                continue;
            }

            foreach (var engine in entry.Node.Sleeping ?? [])
            {
                if (!CanWake(entry.Node, spec, tier, engine))
                {
                    continue;
                }

                var victims = engine.GpuIndices
                    .Select(gpu => entry.Node.Slots.Holders[gpu])
                    .OfType<GpuHolder>()
                    .DistinctBy(h => h.ReplicaId, StringComparer.Ordinal)
                    .ToList();
                var victimGpus = victims.Sum(v => entry.Node.Slots.GpusOf(v.ReplicaId).Length);
                if (best is null
                    || victims.Count < best.Victims.Length
                    || (victims.Count == best.Victims.Length && victimGpus < bestVictimGpus)
                    || (victims.Count == best.Victims.Length && victimGpus == bestVictimGpus && string.CompareOrdinal(entry.Node.NodeId, best.NodeId) < 0))
                {
                    best = new GpuClaim(entry.Node.NodeId, [.. engine.GpuIndices], victims.Select(v => v.ReplicaId).ToArray());
                    bestVictimGpus = victimGpus;
                }
            }
        }

        return best;
    }

    /// <summary>
    /// Whether a replica of <paramref name="spec"/> at <paramref name="tier"/> could wake <paramref name="engine"/> on
    /// <paramref name="node"/> now: the node takes new work, suits the spec, and every GPU of the engine is free or held by
    /// a lower tier of another deployment.
    /// </summary>
    public static bool CanWake(PlacementNode node, DeploymentSpec spec, ReplicaTier tier, SleepingEngine engine)
    {
        if (!node.Schedulable || !IsCompatible(spec, node) || engine.GpuIndices.Length != spec.GpusPerReplica
            || !string.Equals(engine.DeploymentId, spec.DeploymentId, StringComparison.Ordinal))
        {
            return false;
        }

        var holders = node.Slots.Holders;
        foreach (var gpu in engine.GpuIndices)
        {
            if (gpu < 0 || gpu >= holders.Length)
            {
                return false;
            }

            // Never an equal or higher tier, and never the deployment's own replica (it would only trade places).
            if (holders[gpu] is { } holder && (holder.Tier >= tier || string.Equals(holder.DeploymentId, spec.DeploymentId, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return true;
    }

    private static NodeEntry? PlanFree(FleetSnapshot snapshot, DeploymentSpec spec, int need, ReservationLayout? layout)
    {
        var warm = WarmFree(snapshot, spec, need, layout);
        if (warm is not null)
        {
            return warm;
        }

        NodeEntry? best = null;
        foreach (var group in snapshot.Groups)
        {
            // Groups come cheapest first: once one price has a candidate, a dearer group cannot win.
            if (best is not null && NodeGroup.ComparePrice(group, best.Group!) > 0)
            {
                break;
            }

            if (!group.Admits(spec))
            {
                continue;
            }

            var candidate = TightestFree(group, spec, need, layout);
            if (candidate is not null
                && (best is null
                    || candidate.Free < best.Free
                    || (candidate.Free == best.Free && string.CompareOrdinal(candidate.Node.NodeId, best.Node.NodeId) < 0)))
            {
                best = candidate;
            }
        }

        return best;
    }

    /// <summary>The best node with room among those that hold the spec's model warm (only they are looked at).</summary>
    private static NodeEntry? WarmFree(FleetSnapshot snapshot, DeploymentSpec spec, int need, ReservationLayout? layout)
    {
        NodeEntry? best = null;
        foreach (var entry in snapshot.WarmEntries(spec.Model))
        {
            // Not in a group: the node takes no new work.
            if (entry.Group is null || entry.Free < need || !entry.Group.Admits(spec))
            {
                continue;
            }

            if (best is not null)
            {
                var c = NodeGroup.ComparePrice(entry.Group, best.Group!);
                if (c > 0 || (c == 0 && (entry.Free > best.Free || (entry.Free == best.Free && string.CompareOrdinal(entry.Node.NodeId, best.Node.NodeId) > 0))))
                {
                    continue;
                }
            }

            if (layout is null || layout.Admits(entry.Node, spec.DeploymentId, need))
            {
                best = entry;
            }
        }

        return best;
    }

    private static NodeEntry? TightestFree(NodeGroup group, DeploymentSpec spec, int need, ReservationLayout? layout)
    {
        for (var free = need; free < group.ByFree.Count; free++)
        {
            foreach (var entry in group.ByFree[free])
            {
                if (layout is null || layout.Admits(entry.Node, spec.DeploymentId, need))
                {
                    return entry;
                }
            }
        }

        return null;
    }

    private static GpuClaim? PlanPreemption(FleetSnapshot snapshot, DeploymentSpec spec, ReplicaTier tier, int need, ReservationLayout? layout)
    {
        // Victims of a lower level always beat victims of a higher one, so the search stops at the lowest
        // level where some node can free enough by preempting at that level or below, and looks only at those nodes.
        NodeEntry? best = null;
        var bestKey = 0L;
        for (var level = ReplicaTier.Batch; level < tier && best is null; level++)
        {
            foreach (var group in snapshot.Groups)
            {
                if (!group.Admits(spec))
                {
                    continue;
                }

                var buckets = group.ByObtainable[(int)level];
                for (var count = need; count < buckets.Length; count++)
                {
                    foreach (var entry in buckets[count])
                    {
                        if (entry.Free >= need)
                        {
                            continue;
                        }

                        var key = entry.VictimKey(tier, need - entry.Free);
                        if (key == VictimSearch.Infeasible || (best is not null && !Better(entry, key, best, bestKey, need, spec.Model)))
                        {
                            continue;
                        }

                        if (layout is null || layout.Admits(entry.Node, spec.DeploymentId, need))
                        {
                            best = entry;
                            bestKey = key;
                        }
                    }
                }
            }
        }

        if (best is null)
        {
            return null;
        }

        var victims = best.Victims(tier, need - best.Free);
        var gpus = new List<int>(FreeGpus(best, best.Free));
        var holders = best.Node.Slots.Holders;

        // Of the victims' GPUs, those no sleeping engine would wake on first.
        foreach (var underSleeper in (bool[])[false, true])
        {
            for (var i = 0; i < holders.Length && gpus.Count < need; i++)
            {
                if (best.IsUnderSleeper(i) == underSleeper && holders[i] is { } holder
                    && Array.Exists(victims, v => string.Equals(v.ReplicaId, holder.ReplicaId, StringComparison.Ordinal)))
                {
                    gpus.Add(i);
                }
            }
        }

        gpus.Sort();
        return new GpuClaim(best.Node.NodeId, gpus.ToArray(), victims.Select(v => v.ReplicaId).ToArray());
    }

    private static bool Better(NodeEntry a, long keyA, NodeEntry b, long keyB, int need, string model)
    {
        if (keyA != keyB)
        {
            return keyA < keyB;
        }

        // The same victims either way: the replica is serving sooner where its weights are already on disk.
        var warmA = a.Node.IsWarm(model);
        if (warmA != b.Node.IsWarm(model))
        {
            return warmA;
        }

        var c = NodeGroup.ComparePrice(a.Group!, b.Group!);
        if (c != 0)
        {
            return c < 0;
        }

        // Equal keys preempt the same GPUs, so the tighter fit is the node with fewer free GPUs left over.
        var leftA = a.Free + VictimSearch.Gpus(keyA) - need;
        var leftB = b.Free + VictimSearch.Gpus(keyB) - need;
        return leftA != leftB ? leftA < leftB : string.CompareOrdinal(a.Node.NodeId, b.Node.NodeId) < 0;
    }

    /// <summary><paramref name="count"/> free GPUs of the node, those no sleeping engine would wake on first, in index order.</summary>
    private static int[] FreeGpus(NodeEntry entry, int count)
    {
        var holders = entry.Node.Slots.Holders;
        var gpus = new int[count];
        var n = 0;
        foreach (var underSleeper in (bool[])[false, true])
        {
            for (var i = 0; i < holders.Length && n < count; i++)
            {
                if (holders[i] is null && entry.IsUnderSleeper(i) == underSleeper)
                {
                    gpus[n++] = i;
                }
            }
        }

        Array.Sort(gpus);
        return gpus;
    }
}
