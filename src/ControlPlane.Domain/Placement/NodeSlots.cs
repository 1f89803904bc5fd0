using ControlPlane.Domain.Deployments;

namespace ControlPlane.Domain.Placement;

/// <summary>A replica holding GPUs: which one, of which deployment, at which tier.</summary>
[GenerateSerializer, Alias("gpu-holder")]
public sealed record GpuHolder(
    [property: Id(0)] string ReplicaId,
    [property: Id(1)] string DeploymentId,
    [property: Id(2)] ReplicaTier Tier);

/// <summary>How a claim on a node's GPUs ended.</summary>
[GenerateSerializer, Alias("claim-status")]
public enum ClaimStatus
{
    /// <summary>The GPUs now belong to the replica; any victims were preempted.</summary>
    Claimed,
    /// <summary>The replica already held exactly these GPUs (a retried claim): nothing changed.</summary>
    AlreadyClaimed,
    /// <summary>No GPUs, an index outside the node, or an index given twice.</summary>
    InvalidGpus,
    /// <summary>The replica already holds other GPUs (a replica's GPUs are claimed together, once).</summary>
    ReplicaHoldsOtherGpus,
    /// <summary>A GPU is held by a replica of an equal or higher tier.</summary>
    OutrankedByHolder,
    /// <summary>A GPU is held by a lower-tier replica that the claim did not name as a victim (the planner's view was stale).</summary>
    NotAVictim,
    /// <summary>The node is not in the snapshot.</summary>
    UnknownNode,
    /// <summary>The node takes no new work (not ready, cordoned, draining, or a GPU is unhealthy).</summary>
    NodeUnavailable,
}

/// <summary>The result of <see cref="NodeSlots.TryClaim(string, string, ReplicaTier, int[], IReadOnlyCollection{string})"/>.</summary>
/// <param name="Slots">The node's slots after the claim (the same value when it was refused).</param>
/// <param name="Preempted">Replicas that lost all their GPUs on this node to the claim.</param>
[GenerateSerializer, Alias("claim-outcome")]
public sealed record ClaimOutcome(
    [property: Id(0)] ClaimStatus Status,
    [property: Id(1)] NodeSlots Slots,
    [property: Id(2)] GpuHolder[] Preempted)
{
    public bool Succeeded => Status is ClaimStatus.Claimed or ClaimStatus.AlreadyClaimed;

    public bool Equals(ClaimOutcome? other) =>
        other is not null && Status == other.Status && Slots.Equals(other.Slots) && ValueArrays.Equal(Preempted, other.Preempted);

    public override int GetHashCode() => HashCode.Combine(Status, Slots, Preempted.Length);
}

/// <summary>
/// Which replica holds each GPU of one node: the map the node grain owns and the lock on its GPUs. Every
/// claim goes through <see cref="TryClaim(string, string, ReplicaTier, int[], IReadOnlyCollection{string})"/>,
/// which checks the GPUs as they are now, so two schedulers that planned from the same stale view can never
/// both get a GPU. A value: every change returns a new instance and <see cref="Holders"/> is never mutated.
/// </summary>
/// <param name="Holders">The holder of each GPU by index; null where the GPU is free.</param>
[GenerateSerializer, Alias("node-slots")]
public sealed record NodeSlots([property: Id(0)] GpuHolder?[] Holders)
{
    /// <summary>A node with <paramref name="gpuCount"/> free GPUs.</summary>
    public static NodeSlots Empty(int gpuCount) => new(new GpuHolder?[gpuCount]);

    public int Count => Holders.Length;

    public int FreeCount => Holders.Count(h => h is null);

    public bool IsFree(int index) => Holders[index] is null;

    /// <summary>The replicas on the node, each once, in order of their first GPU.</summary>
    public IReadOnlyList<GpuHolder> Replicas() => Holders.OfType<GpuHolder>().DistinctBy(h => h.ReplicaId, StringComparer.Ordinal).ToArray();

    /// <summary>The GPUs <paramref name="replicaId"/> holds, ascending; empty when none.</summary>
    public int[] GpusOf(string replicaId)
    {
        var gpus = new List<int>();
        for (var i = 0; i < Holders.Length; i++)
        {
            if (Holders[i] is { } h && string.Equals(h.ReplicaId, replicaId, StringComparison.Ordinal))
            {
                gpus.Add(i);
            }
        }

        return gpus.ToArray();
    }

    /// <summary>Applies a claim as the planner made it (<see cref="GpuClaim"/>).</summary>
    public ClaimOutcome TryClaim(GpuHolder holder, GpuClaim claim) =>
        TryClaim(holder.ReplicaId, holder.DeploymentId, holder.Tier, claim.GpuIndices, claim.Victims);

    /// <summary>
    /// Gives <paramref name="gpuIndices"/> to a replica if every one is free or held by a replica that is both
    /// of a strictly lower tier and named in <paramref name="allowedVictims"/>; otherwise changes nothing.
    /// A victim loses all its GPUs on the node (a replica cannot run on part of its GPUs), so some may
    /// become free. Claiming again what the replica already holds succeeds without a change, so a retried
    /// message is safe.
    /// </summary>
    public ClaimOutcome TryClaim(string replicaId, string deploymentId, ReplicaTier tier, int[] gpuIndices, IReadOnlyCollection<string> allowedVictims)
    {
        if (gpuIndices.Length == 0 || gpuIndices.Any(i => i < 0 || i >= Holders.Length) || gpuIndices.Distinct().Count() != gpuIndices.Length)
        {
            return Refuse(ClaimStatus.InvalidGpus);
        }

        var held = GpusOf(replicaId);
        if (held.Length > 0)
        {
            return held.AsSpan().SequenceEqual(gpuIndices.Order().ToArray())
                ? new ClaimOutcome(ClaimStatus.AlreadyClaimed, this, [])
                : Refuse(ClaimStatus.ReplicaHoldsOtherGpus);
        }

        var victims = new List<GpuHolder>();
        foreach (var index in gpuIndices)
        {
            if (Holders[index] is not { } holder)
            {
                continue;
            }

            if (!tier.CanPreempt(holder.Tier))
            {
                return Refuse(ClaimStatus.OutrankedByHolder);
            }

            if (!allowedVictims.Contains(holder.ReplicaId))
            {
                return Refuse(ClaimStatus.NotAVictim);
            }

            if (!victims.Any(v => string.Equals(v.ReplicaId, holder.ReplicaId, StringComparison.Ordinal)))
            {
                victims.Add(holder);
            }
        }

        var next = (GpuHolder?[])Holders.Clone();
        for (var i = 0; i < next.Length; i++)
        {
            if (next[i] is { } h && victims.Any(v => string.Equals(v.ReplicaId, h.ReplicaId, StringComparison.Ordinal)))
            {
                next[i] = null;
            }
        }

        var claimant = new GpuHolder(replicaId, deploymentId, tier);
        foreach (var index in gpuIndices)
        {
            next[index] = claimant;
        }

        return new ClaimOutcome(ClaimStatus.Claimed, new NodeSlots(next), victims.ToArray());

        ClaimOutcome Refuse(ClaimStatus status) => new(status, this, []);
    }

    /// <summary>Frees the GPUs of <paramref name="replicaId"/>; the same value when it holds none.</summary>
    public NodeSlots Release(string replicaId)
    {
        if (!Holders.Any(h => h is not null && string.Equals(h.ReplicaId, replicaId, StringComparison.Ordinal)))
        {
            return this;
        }

        return new NodeSlots(Holders.Select(h => h is not null && string.Equals(h.ReplicaId, replicaId, StringComparison.Ordinal) ? null : h).ToArray());
    }

    /// <summary>Frees every GPU (the node went down: its replicas are gone).</summary>
    public NodeSlots ReleaseAll() => Empty(Holders.Length);

    public bool Equals(NodeSlots? other) => other is not null && ValueArrays.Equal(Holders, other.Holders);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        ValueArrays.Add(ref hash, Holders);
        return hash.ToHashCode();
    }
}
