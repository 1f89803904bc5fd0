using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Domain.Deployments;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Deployments;

/// <summary>
/// The deployment grain when its storage or the scheduler fails: the caller is told to retry, and the same request
/// again writes what was not written and tells the scheduler what it did not take. (No forecast in this cluster: a
/// dedicated deployment of 100 tokens/s a replica wants ceil(demand / 100) replicas.)
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class DeploymentGrainWriteTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    private IGrainFactory Grains => fixture.Cluster.Client;

    private ISchedulerGrain Scheduler => Grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler);

    [Fact]
    public async Task CreateAsync_RetryAfterAFailedWrite_IsWrittenAndSurvivesReactivation()
    {
        var spec = TestFleet.Spec(TestFleet.NewId("create"), TestFleet.NewId("r"), DeploymentClass.Dedicated);
        var deployment = Grains.GetGrain<IDeploymentGrain>(GrainKeys.Deployment(spec.DeploymentId));
        fixture.Faults.FailWrites(deployment);

        await Assert.ThrowsAnyAsync<Exception>(() => deployment.CreateAsync(spec));
        Assert.Null(await deployment.GetAsync());
        Assert.Equal(DeploymentCommandStatus.Done, (await deployment.CreateAsync(spec)).Status);

        await fixture.Cluster.DeactivateAsync(deployment);
        Assert.Equal(spec, (await deployment.GetAsync())?.Spec);
    }

    [Fact]
    public async Task ReportDemandAsync_SameDemandAfterItsOwnWriteFailed_WritesTheNewDesiredCount()
    {
        var deployment = await CreateAsync(TestFleet.Spec(TestFleet.NewId("own"), TestFleet.NewId("r"), DeploymentClass.Dedicated));
        fixture.Faults.FailWrites(deployment);

        await Assert.ThrowsAnyAsync<Exception>(() => deployment.ReportDemandAsync(350m));
        Assert.Equal(DeploymentCommandStatus.Done, (await deployment.ReportDemandAsync(350m)).Status);

        await fixture.Cluster.DeactivateAsync(deployment);
        Assert.Equal(4, (await deployment.GetAsync())!.DesiredReplicas);
    }

    [Fact]
    public async Task ReportDemandAsync_SameDemandAfterTheSchedulerFailed_TellsTheScheduler()
    {
        var spec = TestFleet.Spec(TestFleet.NewId("tell"), TestFleet.NewId("r"), DeploymentClass.Dedicated);
        var deployment = await CreateAsync(spec);
        await deployment.ReportDemandAsync(350m);

        // 360 tokens/s still wants 4 replicas: only the demand changes, and the scheduler's call for it fails.
        fixture.Faults.FailCalls(Scheduler, nameof(ISchedulerGrain.SetDesiredAsync));
        await Assert.ThrowsAnyAsync<Exception>(() => deployment.ReportDemandAsync(360m));
        Assert.Equal(DeploymentCommandStatus.Done, (await deployment.ReportDemandAsync(360m)).Status);

        Assert.Equal(360m, Assert.Single(await Scheduler.ListDemandAsync(), d => d.DeploymentId == spec.DeploymentId).DemandTokensPerSecond);
    }

    [Fact]
    public async Task ReportDemandAsync_SameDemandAfterTheSchedulersWriteFailed_TheSchedulerStoresTheDesiredCount()
    {
        var spec = TestFleet.Spec(TestFleet.NewId("sched"), TestFleet.NewId("r"), DeploymentClass.Dedicated);
        var deployment = await CreateAsync(spec);
        fixture.Faults.FailWrites(Scheduler);

        await Assert.ThrowsAnyAsync<Exception>(() => deployment.ReportDemandAsync(250m));
        Assert.Equal(DeploymentCommandStatus.Done, (await deployment.ReportDemandAsync(250m)).Status);

        await fixture.Cluster.DeactivateAsync(Scheduler);
        Assert.Equal(3, Assert.Single(await Scheduler.ListAsync(), d => d.Spec.DeploymentId == spec.DeploymentId).DesiredReplicas);
    }

    [Fact]
    public async Task MigrateAsync_RetryAfterAFailedWrite_IsWrittenAndSurvivesReactivation()
    {
        var spec = TestFleet.Spec(TestFleet.NewId("migrate"), TestFleet.NewId("r"), DeploymentClass.Dedicated);
        var deployment = await CreateAsync(spec);
        var next = spec with { Model = "llama-405b" };
        fixture.Faults.FailWrites(deployment);

        await Assert.ThrowsAnyAsync<Exception>(() => deployment.MigrateAsync(next));
        Assert.Equal(spec, (await deployment.GetAsync())!.Spec);
        Assert.Equal(DeploymentCommandStatus.Done, (await deployment.MigrateAsync(next)).Status);

        await fixture.Cluster.DeactivateAsync(deployment);
        var view = (await deployment.GetAsync())!;
        Assert.Equal(next, view.Spec);
        Assert.Equal(2, view.Generation);
    }

    [Fact]
    public async Task SetLimitsAsync_RetryAfterAFailedWrite_IsWrittenClampsTheDesiredCountAndSurvivesReactivation()
    {
        var spec = TestFleet.Spec(TestFleet.NewId("limits"), TestFleet.NewId("r"), DeploymentClass.Dedicated);
        var deployment = await CreateAsync(spec);
        await deployment.ReportDemandAsync(350m);
        fixture.Faults.FailWrites(deployment);

        await Assert.ThrowsAnyAsync<Exception>(() => deployment.SetLimitsAsync(new DeploymentLimits(null, 2, null)));
        var unchanged = (await deployment.GetAsync())!;
        Assert.Equal((spec, 4), (unchanged.Spec, unchanged.DesiredReplicas));
        var done = await deployment.SetLimitsAsync(new DeploymentLimits(null, 2, null));
        Assert.Equal((DeploymentCommandStatus.Done, 2), (done.Status, done.Deployment!.DesiredReplicas));

        await fixture.Cluster.DeactivateAsync(deployment);
        var view = (await deployment.GetAsync())!;
        Assert.Equal((spec with { MaxReplicas = 2 }, 2, 1), (view.Spec, view.DesiredReplicas, view.Generation));
        Assert.Equal(2, Assert.Single(await Scheduler.ListAsync(), d => d.Spec.DeploymentId == spec.DeploymentId).DesiredReplicas);
    }

    [Fact]
    public async Task SetLimitsAsync_Invalid_ChangesNothingAndNamesTheField()
    {
        var spec = TestFleet.Spec(TestFleet.NewId("limits-bad"), TestFleet.NewId("r"), DeploymentClass.Dedicated);
        var deployment = await CreateAsync(spec);

        var result = await deployment.SetLimitsAsync(new DeploymentLimits(5, null, null));

        Assert.Equal(DeploymentCommandStatus.Invalid, result.Status);
        Assert.Equal(["minReplicas"], result.Errors!.Keys);
        Assert.Equal(spec, (await deployment.GetAsync())!.Spec);
        Assert.Equal(1, await StoredVersionAsync(deployment));
    }

    [Fact]
    public async Task ObserveLoadAsync_RetryAfterAFailedWrite_CountsTheLoad()
    {
        var deployment = await CreateAsync(TestFleet.Spec(TestFleet.NewId("load"), TestFleet.NewId("r")));
        fixture.Faults.FailWrites(deployment);

        await Assert.ThrowsAnyAsync<Exception>(() => deployment.ObserveLoadAsync("replica-1", TimeSpan.FromSeconds(30)));
        await deployment.ObserveLoadAsync("replica-1", TimeSpan.FromSeconds(30));

        // Written twice: at creation, and by the retry (not taken for a repeat of a load already counted).
        Assert.Equal(2, await StoredVersionAsync(deployment));
    }

    private async Task<IDeploymentGrain> CreateAsync(DeploymentSpec spec)
    {
        var deployment = Grains.GetGrain<IDeploymentGrain>(GrainKeys.Deployment(spec.DeploymentId));
        Assert.Equal(DeploymentCommandStatus.Done, (await deployment.CreateAsync(spec)).Status);
        return deployment;
    }

    private Task<int> StoredVersionAsync(IDeploymentGrain deployment) =>
        StoredVersions.ReadAsync(fixture.ConnectionString, "deployment", deployment.GetPrimaryKeyString());
}
