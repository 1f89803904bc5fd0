using ControlPlane.Domain.Partners;
using ControlPlane.Grains.Partners;

namespace ControlPlane.Grains.Tests.Partners;

/// <summary>What the golden payloads of Partners/Golden/ hold (see <see cref="Storage.GoldenPayloads"/>).</summary>
public static class PartnersGoldenPayloads
{
    public static PartnerDirectoryState Directory() => new()
    {
        Version = 12,
        Partners = new(StringComparer.Ordinal)
        {
            ["partner-golden"] = new Partner("partner-golden", ["llama-70b", "mistral-7b"], 0.987654m, 123_456.789012345678901234m),
            ["partner-golden-2"] = new Partner("partner-golden-2", ["qwen-72b"], 1.5m, 2_000m),
        },
    };
}
