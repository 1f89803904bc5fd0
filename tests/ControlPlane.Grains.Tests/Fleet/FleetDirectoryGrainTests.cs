using ControlPlane.Contracts;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Fleet;

/// <summary>The fleet directory on real PostgreSQL storage: every enrolled node listed, concurrent enrolments in few writes.</summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class FleetDirectoryGrainTests(AdoNetClusterFixture fixture) : IClassFixture<AdoNetClusterFixture>
{
    private IGrainFactory Grains => fixture.Cluster.Client;

    [Fact]
    public async Task AddNodeAsync_ManyAtOnce_ListsEveryOneAfterFewWrites()
    {
        var region = "region-" + Guid.NewGuid().ToString("N")[..8];
        var directory = Grains.GetGrain<IFleetDirectoryGrain>(GrainKeys.FleetDirectory);
        var before = await StoredVersionAsync();
        var nodes = Enumerable.Range(0, 200).Select(i => $"{region}-node-{i:D3}").ToArray();

        await Task.WhenAll(nodes.Select(n => directory.AddNodeAsync(n, region)));
        await Task.WhenAll(nodes.Take(10).Select(n => directory.AddNodeAsync(n, region)));

        Assert.Equal(nodes, await directory.ListNodesAsync(region));
        Assert.Contains(region, await directory.ListRegionsAsync());

        // Group commit: concurrent enrolments share writes (one write each would add 200 to the version), and
        // enrolling a listed node again writes nothing.
        Assert.InRange(await StoredVersionAsync() - before, 1, 199);

        await fixture.Cluster.DeactivateAsync(directory);
        Assert.Equal(nodes, await directory.ListNodesAsync(region));
    }

    private Task<int> StoredVersionAsync() => StoredVersions.ReadAsync(fixture.ConnectionString, "fleet-directory");
}
