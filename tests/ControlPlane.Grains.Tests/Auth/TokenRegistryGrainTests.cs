using ControlPlane.Contracts.Auth;
using ControlPlane.Grains.Auth;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Auth;

/// <summary>
/// The registry of issued tokens on real PostgreSQL storage (a fresh registry key per test): a token is recorded once,
/// revocations move the version the silos poll, expired tokens are forgotten a day after they expire, and a revocation
/// whose write failed is not believed.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class TokenRegistryGrainTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private ITokenRegistryGrain NewRegistry() =>
        fixture.Cluster.Client.GetGrain<ITokenRegistryGrain>("tokens:test-" + Guid.NewGuid().ToString("N")[..8]);

    private static IssuedToken Token(string id, DateTimeOffset issuedAt, TimeSpan lifetime, string role = "operator") =>
        new(id, role, "alice", "bootstrap", issuedAt, issuedAt + lifetime);

    [Fact]
    public async Task RecordAsync_TheSameTokenTwice_KeepsTheFirstAndSurvivesReactivation()
    {
        var registry = NewRegistry();
        var token = Token("t1", Now, TimeSpan.FromDays(30));

        await registry.RecordAsync(token);
        await registry.RecordAsync(token with { Subject = "mallory" });

        await fixture.Cluster.DeactivateAsync(registry);
        Assert.Equal([token], await registry.ListAsync(Now));
    }

    [Fact]
    public async Task RevokeAsync_RevokedOnceThenAlreadyAndUnknownNotFound_TheSilosSeeOneNewVersion()
    {
        var registry = NewRegistry();
        await registry.RecordAsync(Token("t1", Now, TimeSpan.FromDays(30)));
        await registry.RecordAsync(Token("t2", Now, TimeSpan.FromDays(30), role: "gateway"));
        var before = await registry.GetRevokedAsync(-1, Now);
        Assert.Equal(0, before!.Version);
        Assert.Empty(before.TokenIds);
        Assert.Null(await registry.GetRevokedAsync(0, Now));

        var revoked = await registry.RevokeAsync("t1", "token:op", Now.AddHours(1));
        var again = await registry.RevokeAsync("t1", "token:other", Now.AddHours(2));
        var unknown = await registry.RevokeAsync("nope", "token:op", Now.AddHours(2));

        Assert.Equal(TokenRevocationStatus.Revoked, revoked.Status);
        Assert.Equal((Now.AddHours(1), "token:op"), (revoked.Token!.RevokedAt, revoked.Token.RevokedBy));
        Assert.Equal(new TokenRevocation(TokenRevocationStatus.AlreadyRevoked, revoked.Token), again);
        Assert.Equal(new TokenRevocation(TokenRevocationStatus.NotFound, null), unknown);

        await fixture.Cluster.DeactivateAsync(registry);
        var after = await registry.GetRevokedAsync(0, Now.AddHours(3));
        Assert.Equal(1, after!.Version);
        Assert.Equal(["t1"], after.TokenIds);
        Assert.Null(await registry.GetRevokedAsync(1, Now.AddHours(3)));
    }

    [Fact]
    public async Task GetRevokedAsync_ARevokedTokenThatExpired_IsNotSentToTheSilos()
    {
        var registry = NewRegistry();
        await registry.RecordAsync(Token("short", Now, TimeSpan.FromHours(1)));
        await registry.RecordAsync(Token("long", Now, TimeSpan.FromDays(30)));
        await registry.RevokeAsync("short", "token:op", Now.AddMinutes(10));
        await registry.RevokeAsync("long", "token:op", Now.AddMinutes(10));

        Assert.Equal(["long", "short"], (await registry.GetRevokedAsync(0, Now.AddMinutes(20)))!.TokenIds);
        Assert.Equal(["long"], (await registry.GetRevokedAsync(0, Now.AddHours(2)))!.TokenIds);
    }

    [Fact]
    public async Task RecordAsync_ADayAfterATokenExpired_ForgetsItAndItCanNoLongerBeRevoked()
    {
        var registry = NewRegistry();
        var expiring = Token("expiring", Now, TimeSpan.FromHours(1));
        await registry.RecordAsync(expiring);
        var forgotten = expiring.ExpiresAt + TokenRegistryGrain.ForgetAfter;

        // Listed until a day after it expired, not from then on.
        Assert.Equal([expiring], await registry.ListAsync(forgotten.AddTicks(-1)));
        Assert.Empty(await registry.ListAsync(forgotten));

        // The next write drops it from the stored state: even a listing as of earlier no longer has it.
        var next = Token("next", forgotten, TimeSpan.FromDays(30));
        await registry.RecordAsync(next);
        await fixture.Cluster.DeactivateAsync(registry);
        Assert.Equal([next], await registry.ListAsync(Now));
        Assert.Equal(TokenRevocationStatus.NotFound, (await registry.RevokeAsync("expiring", "token:op", forgotten)).Status);
    }

    [Fact]
    public async Task RevokeAsync_WriteFailed_NothingIsRevokedAndTheRetryRevokes()
    {
        var registry = NewRegistry();
        await registry.RecordAsync(Token("t1", Now, TimeSpan.FromDays(30)));
        fixture.Faults.FailWrites(registry);

        await Assert.ThrowsAnyAsync<Exception>(() => registry.RevokeAsync("t1", "token:op", Now));
        Assert.Null(await registry.GetRevokedAsync(0, Now));
        Assert.Null(Assert.Single(await registry.ListAsync(Now)).RevokedAt);

        Assert.Equal(TokenRevocationStatus.Revoked, (await registry.RevokeAsync("t1", "token:op", Now)).Status);
        await fixture.Cluster.DeactivateAsync(registry);
        Assert.Equal(["t1"], (await registry.GetRevokedAsync(0, Now))!.TokenIds);
    }
}
