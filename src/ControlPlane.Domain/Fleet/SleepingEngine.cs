using ControlPlane.Domain.Deployments;

namespace ControlPlane.Domain.Fleet;

/// <summary>
/// A replica's serving engine put to sleep on its node instead of being stopped when its deployment scaled down (dedicated
/// and serverless headroom) or when it was preempted (batch, which wants the same GPUs back once they are free): the engine process stays alive with its weights in the node's host memory and gives its GPUs' memory back
/// (serving engines have such a mode, e.g. vLLM's sleep mode), so other replicas may run on those GPUs meanwhile, and
/// waking it (copying the weights back over PCIe) takes seconds where a load takes minutes. It can serve only the
/// deployment it ran for, and only on the GPUs it slept on.
/// </summary>
/// <param name="DeploymentId">The deployment whose replica it was.</param>
/// <param name="Model">The model it holds.</param>
/// <param name="GpuIndices">The node's GPUs it slept on, ascending: a wake needs exactly these.</param>
/// <param name="Bytes">Host memory its weights take while it sleeps.</param>
/// <param name="Batch">
/// A batch replica's engine: the first stopped to make room (<see cref="Admit"/>), and placement does not keep other replicas
/// off its GPUs (a batch wake saves a reload; a dedicated or serverless one saves a customer's wait).
/// </param>
[GenerateSerializer, Alias("sleeping-engine")]
public sealed record SleepingEngine(
    [property: Id(0)] string DeploymentId,
    [property: Id(1)] string Model,
    [property: Id(2)] int[] GpuIndices,
    [property: Id(3)] long Bytes,
    [property: Id(4)] bool Batch = false)
{
    /// <summary>Most engines one node may report asleep.</summary>
    public const int MaxPerNode = 64;

    public bool Equals(SleepingEngine? other) =>
        other is not null
        && DeploymentId == other.DeploymentId
        && Model == other.Model
        && Bytes == other.Bytes
        && Batch == other.Batch
        && ValueArrays.Equal(GpuIndices, other.GpuIndices);

    public override int GetHashCode() => HashCode.Combine(DeploymentId, Model, Bytes, GpuIndices.Length);

    /// <summary>Whether a replica of <paramref name="deploymentId"/> on exactly <paramref name="gpuIndices"/> would wake this engine.</summary>
    public bool Wakes(string deploymentId, IReadOnlyList<int> gpuIndices)
    {
        if (!string.Equals(DeploymentId, deploymentId, StringComparison.Ordinal) || gpuIndices.Count != GpuIndices.Length)
        {
            return false;
        }

        var sorted = gpuIndices.Order().ToArray();
        return ValueArrays.Equal(sorted, GpuIndices);
    }

    /// <summary>
    /// The engines asleep on a node once <paramref name="engine"/> falls asleep there, within <paramref name="budgetBytes"/>
    /// and <see cref="MaxPerNode"/>: room is made by stopping batch engines first (their replicas reload anywhere), then
    /// the engines that slept longest; a batch engine never stops another kind to sleep. Null when it cannot sleep.
    /// <paramref name="asleep"/> is in the order the engines fell asleep.
    /// </summary>
    public static List<SleepingEngine>? Admit(IReadOnlyList<SleepingEngine> asleep, SleepingEngine engine, long budgetBytes)
    {
        ArgumentNullException.ThrowIfNull(asleep);
        ArgumentNullException.ThrowIfNull(engine);
        if (engine.Bytes > budgetBytes)
        {
            return null;
        }

        var engines = new List<SleepingEngine>(asleep);
        while (engines.Count > 0 && (engines.Sum(e => e.Bytes) + engine.Bytes > budgetBytes || engines.Count >= MaxPerNode))
        {
            var i = engines.FindIndex(e => e.Batch);
            if (i < 0 && engine.Batch)
            {
                return null;
            }

            engines.RemoveAt(Math.Max(i, 0));
        }

        engines.Add(engine);
        return engines;
    }

    /// <summary>Whether two reports hold the same engines, in any order.</summary>
    public static bool Same(IReadOnlyCollection<SleepingEngine> a, IReadOnlyCollection<SleepingEngine> b) =>
        a.Count == b.Count && a.ToHashSet().SetEquals(b);
}
