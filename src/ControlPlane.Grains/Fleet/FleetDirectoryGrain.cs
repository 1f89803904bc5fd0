using ControlPlane.Contracts.Fleet;

namespace ControlPlane.Grains.Fleet;

[GenerateSerializer, Alias("fleet-directory-state")]
public sealed class FleetDirectoryState
{
    /// <summary>Node id to region.</summary>
    [Id(0)] public Dictionary<string, string> Nodes { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The list of enrolled nodes and regions; written on enrollment only.</summary>
public sealed class FleetDirectoryGrain(
    [PersistentState("fleet-directory", "store")] IPersistentState<FleetDirectoryState> state) : Grain, IFleetDirectoryGrain
{
    public async Task AddNodeAsync(string nodeId, string region)
    {
        if (state.State.Nodes.TryGetValue(nodeId, out var known) && known == region)
        {
            return;
        }

        state.State.Nodes[nodeId] = region;
        await state.WriteStateAsync();
    }

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
}
