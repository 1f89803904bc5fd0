using ControlPlane.Domain.Deployments;

namespace ControlPlane.Domain.Placement;

/// <summary>
/// Chooses which replicas on one node to preempt so that a claim gets <c>need</c> more GPUs. Options are
/// compared, best first, by: fewest burst victims, then fewest serverless, then fewest batch (so batch goes
/// before serverless, and a single replica that frees enough beats several), then fewest GPUs under sleeping engines
/// preempted (a sleeping engine wakes in seconds only where its GPUs are free or held by lower tiers), then fewest GPUs
/// preempted. The comparison is packed into one <see cref="long"/> key, smaller is better, so the planner compares
/// nodes cheaply and caches the key per node.
/// </summary>
internal static class VictimSearch
{
    /// <summary>Replicas per node up to which every subset is tried; beyond it a greedy choice keeps the counts minimal.</summary>
    private const int ExhaustiveLimit = 12;

    public const long Infeasible = -1;

    /// <summary>Preempted GPUs encoded in a key.</summary>
    public static int Gpus(long key) => (int)(key & 0xFF);

    /// <summary>GPUs under sleeping engines that the claim would take, encoded in a key.</summary>
    public static int Sleepers(long key) => (int)((key >> 8) & 0xFF);

    /// <summary>The key with its count of GPUs under sleeping engines replaced.</summary>
    public static long WithSleepers(long key, int sleepers) => (key & ~0xFF00L) | ((long)Math.Min(sleepers, 0xFF) << 8);

    public static long Best(ReplicaOnNode[] replicas, ReplicaTier tier, int need, out GpuHolder[] victims)
    {
        Span<int> candidates = stackalloc int[replicas.Length];
        var n = 0;
        var obtainable = 0;
        // A node holds at most one replica per GPU; past 64 (no such node exists) the rest are not considered.
        for (var i = 0; i < replicas.Length && n < 64; i++)
        {
            if (tier.CanPreempt(replicas[i].Holder.Tier))
            {
                candidates[n++] = i;
                obtainable += replicas[i].Gpus;
            }
        }

        victims = [];
        if (need <= 0 || obtainable < need)
        {
            return Infeasible;
        }

        candidates = candidates[..n];
        var mask = n <= ExhaustiveLimit ? Exhaustive(replicas, candidates, need, out var key) : Greedy(replicas, candidates.ToArray(), need, out key);
        var chosen = new List<GpuHolder>();
        for (var j = 0; j < n; j++)
        {
            if ((mask & (1UL << j)) != 0)
            {
                chosen.Add(replicas[candidates[j]].Holder);
            }
        }

        victims = chosen.ToArray();
        return key;
    }

    private static ulong Exhaustive(ReplicaOnNode[] replicas, ReadOnlySpan<int> candidates, int need, out long bestKey)
    {
        bestKey = long.MaxValue;
        var bestMask = 0UL;
        var n = candidates.Length;
        for (var mask = 1UL; mask < 1UL << n; mask++)
        {
            int burst = 0, serverless = 0, batch = 0, gpus = 0, sleepers = 0;
            for (var j = 0; j < n; j++)
            {
                if ((mask & (1UL << j)) == 0)
                {
                    continue;
                }

                var replica = replicas[candidates[j]];
                gpus += replica.Gpus;
                sleepers += replica.Sleepers;
                switch (replica.Holder.Tier)
                {
                    case ReplicaTier.Burst: burst++; break;
                    case ReplicaTier.Serverless: serverless++; break;
                    default: batch++; break;
                }
            }

            if (gpus < need)
            {
                continue;
            }

            var key = Key(burst, serverless, batch, sleepers, gpus);
            if (key < bestKey)
            {
                bestKey = key;
                bestMask = mask;
            }
        }

        return bestMask;
    }

    /// <summary>
    /// For nodes with many replicas: the fewest victims of each tier, highest tier first, taking the largest
    /// replicas of each tier. Exact in the counts; it may preempt more GPUs than needed.
    /// </summary>
    private static ulong Greedy(ReplicaOnNode[] replicas, int[] candidates, int need, out long key)
    {
        var byTier = new List<int>[3];
        for (var t = 0; t < 3; t++)
        {
            byTier[t] = [];
        }

        for (var j = 0; j < candidates.Length; j++)
        {
            byTier[(int)replicas[candidates[j]].Holder.Tier].Add(j);
        }

        foreach (var list in byTier)
        {
            list.Sort((a, b) =>
            {
                var c = replicas[candidates[b]].Gpus.CompareTo(replicas[candidates[a]].Gpus);
                return c != 0 ? c : replicas[candidates[a]].Sleepers.CompareTo(replicas[candidates[b]].Sleepers);
            });
        }

        int[] Prefix(List<int> list)
        {
            var sums = new int[list.Count + 1];
            for (var i = 0; i < list.Count; i++)
            {
                sums[i + 1] = sums[i] + replicas[candidates[list[i]]].Gpus;
            }

            return sums;
        }

        var batch = Prefix(byTier[0]);
        var serverless = Prefix(byTier[1]);
        var burst = Prefix(byTier[2]);
        for (var u = 0; u < burst.Length; u++)
        {
            for (var s = 0; s < serverless.Length; s++)
            {
                for (var b = 0; b < batch.Length; b++)
                {
                    if (burst[u] + serverless[s] + batch[b] < need)
                    {
                        continue;
                    }

                    var mask = 0UL;
                    var sleepers = 0;
                    foreach (var j in byTier[2].Take(u).Concat(byTier[1].Take(s)).Concat(byTier[0].Take(b)))
                    {
                        mask |= 1UL << j;
                        sleepers += replicas[candidates[j]].Sleepers;
                    }

                    key = Key(u, s, b, sleepers, burst[u] + serverless[s] + batch[b]);
                    return mask;
                }
            }
        }

        key = Infeasible;
        return 0;
    }

    private static long Key(int burst, int serverless, int batch, int sleepers, int gpus) =>
        ((long)burst << 48) | ((long)serverless << 32) | ((long)batch << 16) | ((long)Math.Min(sleepers, 0xFF) << 8) | (long)Math.Min(gpus, 0xFF);
}
