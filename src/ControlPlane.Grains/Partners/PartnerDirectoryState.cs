using ControlPlane.Domain.Partners;

namespace ControlPlane.Grains.Partners;

/// <summary>What the partner directory stores: every partner by id, and a version that grows with every change.</summary>
[GenerateSerializer, Alias("partner-directory-state")]
public sealed class PartnerDirectoryState
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public Dictionary<string, Partner> Partners { get; set; } = new(StringComparer.Ordinal);
}
