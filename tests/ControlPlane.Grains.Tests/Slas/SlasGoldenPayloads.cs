using ControlPlane.Domain.Slas;
using static ControlPlane.Grains.Tests.Storage.StoredShapes;

namespace ControlPlane.Grains.Tests.Slas;

/// <summary>What the golden payloads of Slas/Golden/ hold (see <see cref="Storage.GoldenPayloads"/>).</summary>
public static class SlasGoldenPayloads
{
    public static SloBook SloMeter() => new()
    {
        Lives =
        [
            new SloLife(At("2026-11-01T08:00:00+00:00"), At("2026-11-20T17:30:00+00:00")),
            new SloLife(At("2026-11-25T09:15:00+00:00"), At("2026-12-31T00:00:00+00:00")),
        ],
        LastMinute = At("2026-12-01T10:11:00+00:00"),
        Days = new()
        {
            [new DateOnly(2026, 11, 30)] = new SloDay(1_430, 10),
            [new DateOnly(2026, 12, 1)] = new SloDay(611, 1),
        },
    };
}
