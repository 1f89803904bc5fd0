using ControlPlane.Contracts.Auth;

namespace ControlPlane.Grains.Auth;

/// <summary>What a join token grain stores: its terms, every enrolment made with it, and when it was revoked.</summary>
[GenerateSerializer, Alias("join-token-state")]
public sealed class JoinTokenState
{
    [Id(0)] public JoinTokenSpec? Spec { get; set; }
    [Id(1)] public List<JoinUse> Uses { get; set; } = [];
    [Id(2)] public DateTimeOffset? RevokedAt { get; set; }
}
