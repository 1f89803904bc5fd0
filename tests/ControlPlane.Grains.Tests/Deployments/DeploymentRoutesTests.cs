using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Domain.Deployments;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Orleans.TestingHost;
using Xunit;

namespace ControlPlane.Grains.Tests.Deployments;

/// <summary>
/// The routing answer's read model on a three-silo cluster: the scheduler pushes a deployment's routes when they change,
/// and the read model keeps answering the last routes known, without a call to the scheduler, once the scheduler's silo
/// has been killed.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class DeploymentRoutesTests(MultiSiloClusterFixture fixture) : IClassFixture<MultiSiloClusterFixture>
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task GetAsync_SchedulersSiloKilled_AnswersTheLastRoutesKnownWithoutTheScheduler()
    {
        var ct = TestContext.Current.CancellationToken;
        var grains = fixture.Cluster.Client;
        var scheduler = grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler);
        var (region, nodeId) = (TestFleet.NewId("r"), TestFleet.NewId("n"));
        var spec = TestFleet.Spec(TestFleet.NewId("ded"), region, DeploymentClass.Dedicated, min: 2, max: 2);
        var (node, token) = await TestFleet.ReadyNodeAsync(grains, nodeId, region);
        Assert.Equal(AdmissionResult.Admitted, await scheduler.AdmitAsync(new ScheduledDeployment(spec, 2, 1)));
        var placed = await Poll.UntilAsync(async () => (await node.GetPlacementAsync())!.Replicas, r => r.Length == 2, Settle, "the replicas to be placed");
        await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, token, 2) with { Replicas = placed.Select(r => new ReplicaReport(r.ReplicaId, ReplicaState.Ready)).ToArray() });

        // The read model, asked from a silo that will survive (which then knows where it lives), gets both replicas once
        // they are ready and their node heard: the scheduler pushes them.
        var schedulerSilo = fixture.SiloOf(scheduler);
        var survivor = fixture.Cluster.Silos.First(s => s.Name != schedulerSilo.Name);
        var routes = fixture.GrainsOf(survivor).GetGrain<IDeploymentRoutesGrain>(GrainKeys.DeploymentRoutes(spec.DeploymentId));
        var before = await Poll.UntilAsync(routes.GetAsync, r => r.Endpoints.Count == 2, Settle, "both replicas in the routes");
        if (fixture.SiloOf(routes).Name == schedulerSilo.Name)
        {
            // Both on one silo: the read model moves first (and asks the scheduler once, while it still answers).
            await fixture.Cluster.MigrateAsync(routes, survivor.SiloAddress);
            before = await Poll.UntilAsync(routes.GetAsync, r => r.Endpoints.Count == 2 && fixture.SiloOf(routes).Name != schedulerSilo.Name, Settle, "the read model on another silo");
        }

        Assert.Equal(spec.DeploymentId, Assert.Single(before.Inputs!.Deployments).DeploymentId);
        Assert.Equal(placed.Select(r => r.ReplicaId).Order(StringComparer.Ordinal), before.Endpoints.Select(e => e.ReplicaId).Order(StringComparer.Ordinal));

        var schedulerCalls = fixture.Calls.Count(scheduler);
        await fixture.Cluster.KillSiloAsync(schedulerSilo, ct);
        var after = await routes.GetAsync();

        Assert.Equal(before.Version, after.Version);
        Assert.Equal(before.Endpoints.Select(e => e.ReplicaId), after.Endpoints.Select(e => e.ReplicaId));
        Assert.Equal(before.Inputs!.Replicas, after.Inputs!.Replicas);
        Assert.Equal(schedulerCalls, fixture.Calls.Count(scheduler));
    }

    [Fact]
    public async Task GetAsync_UnknownDeployment_HasNoRoutes()
    {
        // Through a silo, not the client: the other test may have killed the client's gateway.
        var routes = fixture.GrainsOf(fixture.Cluster.Silos[^1]).GetGrain<IDeploymentRoutesGrain>(GrainKeys.DeploymentRoutes(TestFleet.NewId("nope")));

        Assert.Null((await routes.GetAsync()).Inputs);
    }
}
