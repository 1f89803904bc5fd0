using ControlPlane.Domain.Deployments;

namespace ControlPlane.Domain.Placement;

/// <summary>
/// A placement decision for one replica: these GPUs on this node, preempting these replicas. It is a
/// proposal until the node accepts it with <see cref="NodeSlots.TryClaim(GpuHolder, GpuClaim)"/>.
/// </summary>
/// <param name="GpuIndices">The GPUs, ascending.</param>
/// <param name="Victims">Replicas on the node the claim may preempt (all of a strictly lower tier); empty when the GPUs are free.</param>
[GenerateSerializer, Alias("gpu-claim")]
public sealed record GpuClaim(
    [property: Id(0)] string NodeId,
    [property: Id(1)] int[] GpuIndices,
    [property: Id(2)] string[] Victims)
{
    public bool Equals(GpuClaim? other) =>
        other is not null && NodeId == other.NodeId && ValueArrays.Equal(GpuIndices, other.GpuIndices) && ValueArrays.Equal(Victims, other.Victims);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(NodeId);
        ValueArrays.Add(ref hash, GpuIndices);
        ValueArrays.Add(ref hash, Victims);
        return hash.ToHashCode();
    }
}
