using ControlPlane.Contracts.Auth;
using ControlPlane.Domain.Fleet;
using ControlPlane.Grains.Auth;
using static ControlPlane.Grains.Tests.Storage.StoredShapes;

namespace ControlPlane.Grains.Tests.Auth;

/// <summary>What the golden payloads of Auth/Golden/ hold (see <see cref="Storage.GoldenPayloads"/>).</summary>
public static class AuthGoldenPayloads
{
    public static JoinTokenState JoinToken() => new()
    {
        Spec = new JoinTokenSpec(
            "jt-golden", "eu-west", "lambda", Ownership.Rented, 2.718281828459045235360287471m, "gpu-eu-", 7, "tok-operator",
            At("2026-11-27T09:41:07.1234567+00:00"), At("2026-12-04T09:41:07.1234567+00:00")),
        Uses =
        [
            new JoinUse("gpu-eu-1", "idem-golden-1", "tok-node-1", At("2026-11-28T10:00:01.5+00:00"), At("2026-11-28T10:00:01.75+00:00")),
            new JoinUse("gpu-eu-2", "idem-golden-2", "tok-node-2", At("2026-11-29T11:30:00+00:00"), At("2026-11-29T11:30:02+00:00")),
        ],
        RevokedAt = At("2026-11-30T17:05:09.001+00:00"),
    };

    public static TokenRegistryState TokenRegistry() => new()
    {
        RevocationVersion = 41,
        Tokens = new(StringComparer.Ordinal)
        {
            ["tok-golden-1"] = new IssuedToken(
                "tok-golden-1", "customer", "cust-golden", "tok-operator",
                At("2026-10-01T08:00:00.25+00:00"), At("2027-10-01T08:00:00.25+00:00"),
                At("2026-11-15T12:34:56.789+00:00"), "tok-operator-2"),
            ["tok-golden-2"] = new IssuedToken(
                "tok-golden-2", "node", "gpu-eu-1", "jt-golden",
                At("2026-11-28T10:00:01.5+00:00"), At("2027-11-28T10:00:01.5+00:00"),
                At("2026-12-01T00:00:00+00:00"), "tok-operator"),
        },
    };
}
