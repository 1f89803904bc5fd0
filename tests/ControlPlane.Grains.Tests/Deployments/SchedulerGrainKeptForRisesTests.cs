using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Domain.Deployments;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Deployments;

/// <summary>
/// A dedicated deployment's spare kept for its own quick rises (what its awake replicas keep above demand) is not what a
/// serverless deployment of its model scales on: the scheduler takes it with the dedicated deployment's desired count.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class SchedulerGrainKeptForRisesTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(20);

    private IGrainFactory Grains => fixture.Cluster.Client;

    private ISchedulerGrain Scheduler => Grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler);

    [Fact]
    public async Task SetDesiredAsync_KeptForRises_IsNotCountedOnByServerlessOfTheModel()
    {
        var (region, model, nodeId) = (TestFleet.NewId("r"), TestFleet.NewId("m"), TestFleet.NewId("n"));
        // 100 tokens/s a replica: two ready dedicated replicas serving 50 tokens/s have 150 spare.
        var dedicated = TestFleet.Spec(TestFleet.NewId("ded"), region, DeploymentClass.Dedicated, min: 2, max: 2, model: model);
        var serverless = TestFleet.Spec(TestFleet.NewId("sls"), region, DeploymentClass.Serverless, min: 0, max: 4, model: model);
        var (node, token) = await TestFleet.ReadyNodeAsync(Grains, nodeId, region);
        Assert.Equal(AdmissionResult.Admitted, await Scheduler.AdmitAsync(new ScheduledDeployment(dedicated, 2, 1)));
        Assert.Equal(AdmissionResult.Admitted, await Scheduler.AdmitAsync(new ScheduledDeployment(serverless, 0, 1)));
        var placed = await Poll.UntilAsync(async () => (await node.GetPlacementAsync())!.Replicas, r => r.Length == 2, Settle, "the dedicated replicas to be placed");
        await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, token, 2) with { Replicas = placed.Select(r => new ReplicaReport(r.ReplicaId, ReplicaState.Ready)).ToArray() });
        await Scheduler.SetDesiredAsync(dedicated.DeploymentId, 2, 2, 50m, awake: 2);
        await Poll.UntilAsync(
            () => Scheduler.SetDesiredAsync(serverless.DeploymentId, 0, 0, 300m),
            s => s == 150m,
            Settle,
            "the serverless deployment to count on the dedicated spare (the node heard, its replicas routable)");

        await Scheduler.SetDesiredAsync(dedicated.DeploymentId, 2, 2, 50m, awake: 2, keptForRises: 100m);

        Assert.Equal(250m, await Scheduler.SetDesiredAsync(serverless.DeploymentId, 0, 0, 300m));
    }
}
