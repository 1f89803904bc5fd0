using ControlPlane.Server.Diagnostics;

namespace ControlPlane.Grains.Tests.Diagnostics;

/// <summary>What the golden payloads of Diagnostics/Golden/ hold (the server's load baseline grain; see <see cref="Storage.GoldenPayloads"/>).</summary>
public static class DiagnosticsGoldenPayloads
{
    public static StateWriteBaselineState StateWriteBaseline() => new() { Payload = "golden-payload-0123456789", Writes = 1_234 };
}
