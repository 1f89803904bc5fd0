using ControlPlane.Domain.Fleet;

namespace ControlPlane.Domain.Placement;

/// <summary>
/// One node as placement sees it: where it is, what its GPUs are, what they cost, whether new work may go
/// there, and who holds each GPU. A node's GPUs are taken as alike (a mixed node is summarised by its
/// smallest GPU, see <see cref="GpuInventory.Summarise"/>).
/// </summary>
/// <param name="Sku">The node's SKU id.</param>
/// <param name="GpuMemoryMiB">Memory of each GPU (of the smallest one), as the agent reports it.</param>
/// <param name="HourlyCostUsd">What the whole node costs per hour.</param>
/// <param name="Schedulable">Ready and neither cordoned nor draining: new replicas may be placed.</param>
/// <param name="Slots">Who holds each GPU; its length is the node's GPU count.</param>
/// <param name="WarmModels">Models whose weights the node holds complete in its local cache; null or empty when none (or no cache).</param>
/// <param name="CacheFreeBytes">Free room left in the node's model cache; null when the node has no model cache.</param>
/// <param name="Sleeping">Dedicated and serverless replicas' engines asleep on the node (see <see cref="SleepingEngine"/>); null or empty when none.</param>
/// <param name="SleepBudgetBytes">
/// Host memory the node's agent lets the weights of sleeping engines take together (its <c>--sleep-budget-gb</c>); null when
/// the node never puts an engine to sleep.
/// </param>
[GenerateSerializer, Alias("placement-node")]
public sealed record PlacementNode(
    [property: Id(0)] string NodeId,
    [property: Id(1)] string Region,
    [property: Id(2)] string Sku,
    [property: Id(3)] long GpuMemoryMiB,
    [property: Id(4)] decimal HourlyCostUsd,
    [property: Id(5)] Ownership Ownership,
    [property: Id(6)] bool Schedulable,
    [property: Id(7)] NodeSlots Slots,
    [property: Id(8)] WarmModel[]? WarmModels = null,
    [property: Id(9)] long? CacheFreeBytes = null,
    [property: Id(10)] SleepingEngine[]? Sleeping = null,
    [property: Id(11)] long? SleepBudgetBytes = null)
{
    /// <summary>
    /// Host memory an engine of <paramref name="model"/> would take asleep on this node: the size of its weights in the node's
    /// cache, when the node takes new work, puts engines to sleep and its budget holds them (its agent stops the engines that
    /// slept longest to make room); null when an engine of the model released here would stop instead.
    /// </summary>
    public long? SleepBytesOf(string model)
    {
        if (!Schedulable || SleepBudgetBytes is not { } budget || WarmModels is null)
        {
            return null;
        }

        foreach (var warm in WarmModels)
        {
            if (string.Equals(warm.Model, model, StringComparison.Ordinal))
            {
                return warm.Bytes > 0 && warm.Bytes <= budget ? warm.Bytes : null;
            }
        }

        return null;
    }

    public int GpuCount => Slots.Count;

    /// <summary>What one GPU costs per hour: the node's cost shared by its GPUs.</summary>
    public decimal HourlyCostPerGpuUsd => GpuCount == 0 ? HourlyCostUsd : HourlyCostUsd / GpuCount;

    /// <summary>
    /// GPU memory in GiB as a deployment's <c>minGpuMemoryGiB</c> is compared with it: rounded to the nearest
    /// GiB, because drivers report a little less than the marketed size (an 80 GB H100 reports 81,559 MiB,
    /// 79.6 GiB) and a customer asking for 80 GiB means that GPU.
    /// </summary>
    public int GpuMemoryGiB => ToGiB(GpuMemoryMiB);

    /// <summary>Whether the node holds <paramref name="model"/>'s weights: a replica of it loads from local disk, not the network.</summary>
    public bool IsWarm(string model)
    {
        foreach (var warm in WarmModels ?? [])
        {
            if (string.Equals(warm.Model, model, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A node whose GPUs are all free.</summary>
    public static PlacementNode Create(string nodeId, string region, string sku, long gpuMemoryMiB, int gpuCount, decimal hourlyCostUsd, Ownership ownership, bool schedulable = true) =>
        new(nodeId, region, sku, gpuMemoryMiB, hourlyCostUsd, ownership, schedulable, NodeSlots.Empty(gpuCount));

    /// <summary>Schedulable from a node's health and operator intent: only a ready, uncordoned, undrained node takes new work.</summary>
    public static bool IsSchedulable(NodeHealth health, NodeScheduling scheduling) =>
        health == NodeHealth.Ready && scheduling == NodeScheduling.Schedulable;

    internal static int ToGiB(long mib) => (int)Math.Min(int.MaxValue, (mib + 512) / 1024);
}
