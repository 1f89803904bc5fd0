using ControlPlane.Domain.Deployments;

namespace ControlPlane.Domain.Fleet;

/// <summary>
/// A dedicated or serverless replica's serving engine put to sleep on its node instead of being stopped when its deployment scaled
/// down: the engine process stays alive with its weights in the node's host memory and gives its GPUs' memory back
/// (serving engines have such a mode, e.g. vLLM's sleep mode), so other replicas may run on those GPUs meanwhile, and
/// waking it (copying the weights back over PCIe) takes seconds where a load takes minutes. It can serve only the
/// deployment it ran for, and only on the GPUs it slept on.
/// </summary>
/// <param name="DeploymentId">The deployment whose replica it was.</param>
/// <param name="Model">The model it holds.</param>
/// <param name="GpuIndices">The node's GPUs it slept on, ascending: a wake needs exactly these.</param>
/// <param name="Bytes">Host memory its weights take while it sleeps.</param>
[GenerateSerializer, Alias("sleeping-engine")]
public sealed record SleepingEngine(
    [property: Id(0)] string DeploymentId,
    [property: Id(1)] string Model,
    [property: Id(2)] int[] GpuIndices,
    [property: Id(3)] long Bytes)
{
    /// <summary>Most engines one node may report asleep.</summary>
    public const int MaxPerNode = 64;

    public bool Equals(SleepingEngine? other) =>
        other is not null
        && DeploymentId == other.DeploymentId
        && Model == other.Model
        && Bytes == other.Bytes
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

    /// <summary>Whether two reports hold the same engines, in any order.</summary>
    public static bool Same(IReadOnlyCollection<SleepingEngine> a, IReadOnlyCollection<SleepingEngine> b) =>
        a.Count == b.Count && a.ToHashSet().SetEquals(b);
}
