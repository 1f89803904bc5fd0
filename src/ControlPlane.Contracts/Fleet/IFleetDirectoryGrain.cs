namespace ControlPlane.Contracts.Fleet;

/// <summary>
/// Which nodes exist and in which region, keyed by <see cref="GrainKeys.FleetDirectory"/>. Written on
/// enrollment only, so one activation is no hot spot; heartbeats never reach it.
/// </summary>
[Alias("IFleetDirectoryGrain")]
public interface IFleetDirectoryGrain : IGrainWithStringKey
{
    /// <summary>Records a node; idempotent.</summary>
    [Alias("AddNodeAsync")]
    Task AddNodeAsync(string nodeId, string region);

    /// <summary>Node ids, optionally of one region, in id order.</summary>
    [Alias("ListNodesAsync")]
    Task<IReadOnlyList<string>> ListNodesAsync(string? region);

    [Alias("ListRegionsAsync")]
    Task<IReadOnlyList<string>> ListRegionsAsync();
}
