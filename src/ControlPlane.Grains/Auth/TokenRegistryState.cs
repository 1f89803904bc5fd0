using ControlPlane.Contracts.Auth;

namespace ControlPlane.Grains.Auth;

/// <summary>What the token registry stores: every issued token by id, and a version that grows with every revocation.</summary>
[GenerateSerializer, Alias("token-registry-state")]
public sealed class TokenRegistryState
{
    [Id(0)] public long RevocationVersion { get; set; }
    [Id(1)] public Dictionary<string, IssuedToken> Tokens { get; set; } = new(StringComparer.Ordinal);
}
