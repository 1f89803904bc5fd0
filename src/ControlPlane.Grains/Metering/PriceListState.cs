using ControlPlane.Contracts.Metering;

namespace ControlPlane.Grains.Metering;

[GenerateSerializer, Alias("price-list-state")]
public sealed class PriceListState
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public Dictionary<string, List<ModelPrice>> Models { get; set; } = new(StringComparer.Ordinal);
}
