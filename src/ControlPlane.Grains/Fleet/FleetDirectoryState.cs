namespace ControlPlane.Grains.Fleet;

[GenerateSerializer, Alias("fleet-directory-state")]
public sealed class FleetDirectoryState
{
    /// <summary>Node id to region.</summary>
    [Id(0)] public Dictionary<string, string> Nodes { get; set; } = new(StringComparer.Ordinal);
}
