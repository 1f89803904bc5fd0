using ControlPlane.Contracts;
using ControlPlane.Contracts.Auth;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Domain.Fleet;
using ControlPlane.Grains.Tests.Deployments;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Auth;

/// <summary>
/// Join tokens over the real PostgreSQL storage: their uses never exceed maxUses under concurrent enrolments, a retry
/// counts nothing and returns what it returned first, and all of it survives a new activation.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class JoinTokenGrainTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private IGrainFactory Grains => fixture.Cluster.Client;

    [Fact]
    public async Task EnrolAsync_ConcurrentEnrolments_NeverMoreThanMaxUses()
    {
        var (join, _) = await CreateAsync(maxUses: 3);
        var nodes = Enumerable.Range(0, 10).Select(_ => TestFleet.NewId("j")).ToArray();

        var results = await Task.WhenAll(nodes.Select(n => join.EnrolAsync(n, "k-" + n, Now)));

        Assert.Equal(3, results.Count(r => r.Status == JoinStatus.Enrolled));
        Assert.Equal(7, results.Count(r => r.Status == JoinStatus.UsedUp));
        var enrolled = nodes.Where((_, i) => results[i].Status == JoinStatus.Enrolled).ToArray();
        var views = await Task.WhenAll(nodes.Select(n => Grains.GetGrain<INodeGrain>(GrainKeys.Node(n)).GetAsync()));
        Assert.Equal(enrolled.Order(), nodes.Where((_, i) => views[i] is not null).Order());

        await fixture.Cluster.DeactivateAsync(join);
        Assert.Equal(enrolled.Order(), (await join.GetAsync())!.Uses.Select(u => u.NodeId).Order());
    }

    [Fact]
    public async Task EnrolAsync_RetryAfterRotation_ReturnsTheFirstTokenNotTheCurrentOne()
    {
        var (join, _) = await CreateAsync(maxUses: 1);
        var nodeId = TestFleet.NewId("j");
        var first = await join.EnrolAsync(nodeId, "key", Now);
        var rotated = await Grains.GetGrain<INodeGrain>(GrainKeys.Node(nodeId)).RotateTokenAsync();

        var retried = await join.EnrolAsync(nodeId, "key", Now.AddMinutes(1));

        Assert.Equal((JoinStatus.Enrolled, first.NodeTokenId), (retried.Status, retried.NodeTokenId));
        Assert.NotEqual(rotated!.TokenId, retried.NodeTokenId);
        Assert.Single((await join.GetAsync())!.Uses);
    }

    [Fact]
    public async Task EnrolAsync_ExpiredOrRevoked_IsInvalidAndEnrolsNothing()
    {
        var (join, spec) = await CreateAsync(maxUses: 5);
        var late = TestFleet.NewId("j");
        Assert.Equal(JoinStatus.Invalid, (await join.EnrolAsync(late, null, spec.ExpiresAt)).Status);

        await join.RevokeAsync(Now);
        var revoked = TestFleet.NewId("j");
        Assert.Equal(JoinStatus.Invalid, (await join.EnrolAsync(revoked, null, Now)).Status);

        Assert.Null(await Grains.GetGrain<INodeGrain>(GrainKeys.Node(late)).GetAsync());
        Assert.Null(await Grains.GetGrain<INodeGrain>(GrainKeys.Node(revoked)).GetAsync());
        Assert.Empty((await join.GetAsync())!.Uses);
    }

    private async Task<(IJoinTokenGrain Grain, JoinTokenSpec Spec)> CreateAsync(int maxUses)
    {
        var tokenId = Guid.NewGuid().ToString("N");
        var spec = new JoinTokenSpec(tokenId, TestFleet.NewId("r"), "own-dc", Ownership.Owned, 12.5m, null, maxUses, "bootstrap", Now, Now.AddHours(1));
        var grain = Grains.GetGrain<IJoinTokenGrain>(GrainKeys.JoinToken(tokenId));
        await grain.CreateAsync(spec);
        return (grain, spec);
    }
}
