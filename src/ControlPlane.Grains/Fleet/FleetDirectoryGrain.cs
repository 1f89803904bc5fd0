using ControlPlane.Contracts.Fleet;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace ControlPlane.Grains.Fleet;

/// <summary>
/// The list of enrolled nodes and regions; written on enrollment only, in groups
/// (<see cref="GroupCommit{TChange, TResult}"/>): its state lists the whole fleet, so enrolling nodes one write each
/// rewrote the whole list for each node.
/// </summary>
[Reentrant]
public sealed class FleetDirectoryGrain(
    [PersistentState("fleet-directory", "store")] IPersistentState<FleetDirectoryState> state,
    ILogger<FleetDirectoryGrain> logger) : Grain, IFleetDirectoryGrain
{
    private GroupCommit<(string NodeId, string Region), bool>? _commit;

    private GroupCommit<(string NodeId, string Region), bool> Commit =>
        _commit ??= new(Apply, () => state.WriteStateAsync(), e => state.ReloadAsync(this, logger, e));

    // Submitted even when memory already lists it: memory may hold a group whose write is still in flight, and an
    // enrolment is answered only once the store lists the node (a group of nothing new writes nothing).
    public Task AddNodeAsync(string nodeId, string region) => Commit.SubmitAsync((nodeId, region));

    public Task<IReadOnlyList<string>> ListNodesAsync(string? region) =>
        Task.FromResult<IReadOnlyList<string>>(state.State.Nodes
            .Where(n => region is null || n.Value == region)
            .Select(n => n.Key)
            .Order(StringComparer.Ordinal)
            .ToArray());

    public Task<IReadOnlyList<string>> ListRegionsAsync() =>
        Task.FromResult<IReadOnlyList<string>>(state.State.Nodes.Values
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToArray());

    private (bool, bool Changed) Apply((string NodeId, string Region) entry)
    {
        if (state.State.Nodes.TryGetValue(entry.NodeId, out var known) && known == entry.Region)
        {
            return (false, false);
        }

        state.State.Nodes[entry.NodeId] = entry.Region;
        return (true, true);
    }
}
