using ControlPlane.Contracts;
using ControlPlane.Contracts.Partners;
using ControlPlane.Domain.Partners;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Partners;

/// <summary>The partner directory on real PostgreSQL storage: durable, and a repeated PUT writes nothing.</summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class PartnerDirectoryGrainTests(AdoNetClusterFixture fixture) : IClassFixture<AdoNetClusterFixture>
{
    private IGrainFactory Grains => fixture.Cluster.Client;

    [Fact]
    public async Task PutGetDelete_SurviveDeactivation_AndTheSamePutWritesNothing()
    {
        var directory = Grains.GetGrain<IPartnerDirectoryGrain>(GrainKeys.PartnerDirectory);
        var a = new Partner("a", ["llama-3-70b"], 0.9m, 5_000m);
        var b = new Partner("b", ["llama-3-70b", "qwen-72b"], 1.25m, 800m);

        Assert.Equal(PartnerPutStatus.Created, (await directory.PutAsync(b)).Status);
        Assert.Equal(PartnerPutStatus.Created, (await directory.PutAsync(a)).Status);
        var written = await StoredVersionAsync();
        Assert.Equal(PartnerPutStatus.Unchanged, (await directory.PutAsync(a with { Models = ["llama-3-70b"], UsdPer1MTokens = 0.90m })).Status);
        Assert.Equal(written, await StoredVersionAsync());

        await fixture.Cluster.DeactivateAsync(directory);
        var list = await directory.ListAsync();
        Assert.Equal([a, b], list.Partners);
        Assert.Equal(PartnerPutStatus.Updated, (await directory.PutAsync(a with { CapacityTokensPerSecond = 6_000m })).Status);
        Assert.True(await directory.DeleteAsync("b"));
        Assert.False(await directory.DeleteAsync("b"));

        await fixture.Cluster.DeactivateAsync(directory);
        Assert.Null(await directory.GetAsync("b"));
        Assert.Equal(6_000m, (await directory.GetAsync("a"))!.CapacityTokensPerSecond);
        Assert.True((await directory.ListAsync()).Version > list.Version);
    }

    [Fact]
    public async Task Put_InvalidPartner_ThrowsAndStoresNothing()
    {
        var directory = Grains.GetGrain<IPartnerDirectoryGrain>(GrainKeys.PartnerDirectory);

        await Assert.ThrowsAsync<ArgumentException>(() => directory.PutAsync(new Partner("bad", ["m"], 1m, 0m)));

        Assert.Null(await directory.GetAsync("bad"));
    }

    private Task<int> StoredVersionAsync() => StoredVersions.ReadAsync(fixture.ConnectionString, "partner-directory", GrainKeys.PartnerDirectory);
}
