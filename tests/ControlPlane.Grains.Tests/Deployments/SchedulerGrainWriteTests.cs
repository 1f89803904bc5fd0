using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Domain.Deployments;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ControlPlane.Grains.Tests.Deployments;

/// <summary>
/// The scheduler when its storage or a node's fails: an admission, a desired count or a removal is believed only once
/// written, so a retry after a failed write writes it, and a failure inside the reconcile loop is logged and retried.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class SchedulerGrainWriteTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    private IGrainFactory Grains => fixture.Cluster.Client;

    private ISchedulerGrain Scheduler => Grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler);

    [Fact]
    public async Task AdmitAsync_RetryAfterAFailedWrite_IsWrittenAndSurvivesReactivation()
    {
        var spec = TestFleet.Spec(TestFleet.NewId("admit"), TestFleet.NewId("r"));
        await Scheduler.ListAsync();
        fixture.Faults.FailWrites(Scheduler);

        await Assert.ThrowsAnyAsync<Exception>(() => Scheduler.AdmitAsync(new ScheduledDeployment(spec, 1, 1)));
        Assert.DoesNotContain(await Scheduler.ListAsync(), d => d.Spec.DeploymentId == spec.DeploymentId);
        Assert.Equal(AdmissionResult.Admitted, await Scheduler.AdmitAsync(new ScheduledDeployment(spec, 1, 1)));

        await fixture.Cluster.DeactivateAsync(Scheduler);
        var stored = Assert.Single(await Scheduler.ListAsync(), d => d.Spec.DeploymentId == spec.DeploymentId);
        Assert.Equal(spec, stored.Spec);
        Assert.Equal(1, stored.DesiredReplicas);
    }

    [Fact]
    public async Task AdmitAsync_WrittenButTheAnswerLost_RetryIsAdmittedWithoutAnotherWrite()
    {
        var spec = TestFleet.Spec(TestFleet.NewId("lost"), TestFleet.NewId("r"));
        await Scheduler.ListAsync();
        fixture.Faults.FailWritesAfterStoring(Scheduler);

        await Assert.ThrowsAnyAsync<Exception>(() => Scheduler.AdmitAsync(new ScheduledDeployment(spec, 1, 1)));
        var version = await StoredVersionAsync();
        Assert.Equal(AdmissionResult.Admitted, await Scheduler.AdmitAsync(new ScheduledDeployment(spec, 1, 1)));

        // The reload found it stored: the retry is the same admission again, and writes nothing.
        Assert.Equal(version, await StoredVersionAsync());
        Assert.Contains(await Scheduler.ListAsync(), d => d.Spec.DeploymentId == spec.DeploymentId);
    }

    [Fact]
    public async Task SetDesiredAsync_RetryAfterAFailedWrite_IsWrittenAndSurvivesReactivation()
    {
        var spec = TestFleet.Spec(TestFleet.NewId("desire"), TestFleet.NewId("r"));
        Assert.Equal(AdmissionResult.Admitted, await Scheduler.AdmitAsync(new ScheduledDeployment(spec, 1, 1)));
        fixture.Faults.FailWrites(Scheduler);

        await Assert.ThrowsAnyAsync<Exception>(() => Scheduler.SetDesiredAsync(spec.DeploymentId, 3, 3, 300m));
        await Scheduler.SetDesiredAsync(spec.DeploymentId, 3, 3, 300m);

        await fixture.Cluster.DeactivateAsync(Scheduler);
        Assert.Equal(3, Assert.Single(await Scheduler.ListAsync(), d => d.Spec.DeploymentId == spec.DeploymentId).DesiredReplicas);
    }

    [Fact]
    public async Task SetDesiredAsync_AwakeChangesAlone_IsWrittenAndSurvivesReactivation()
    {
        var spec = TestFleet.Spec(TestFleet.NewId("awake"), TestFleet.NewId("r"), DeploymentClass.Dedicated);
        Assert.Equal(AdmissionResult.Admitted, await Scheduler.AdmitAsync(new ScheduledDeployment(spec, 1, 1)));
        await Scheduler.SetDesiredAsync(spec.DeploymentId, 4, 4, 300m, awake: 3);
        fixture.Faults.FailWrites(Scheduler);

        await Assert.ThrowsAnyAsync<Exception>(() => Scheduler.SetDesiredAsync(spec.DeploymentId, 4, 4, 300m, awake: 2));
        Assert.Equal(3, Assert.Single(await Scheduler.ListAsync(), d => d.Spec.DeploymentId == spec.DeploymentId).AwakeReplicas);
        await Scheduler.SetDesiredAsync(spec.DeploymentId, 4, 4, 300m, awake: 2);

        await fixture.Cluster.DeactivateAsync(Scheduler);
        var stored = Assert.Single(await Scheduler.ListAsync(), d => d.Spec.DeploymentId == spec.DeploymentId);
        Assert.Equal((4, 2), (stored.DesiredReplicas, stored.AwakeReplicas));
    }

    [Fact]
    public async Task RemoveAsync_RetryAfterAFailedWrite_IsWrittenAndTheDeploymentStaysGone()
    {
        var spec = TestFleet.Spec(TestFleet.NewId("remove"), TestFleet.NewId("r"));
        Assert.Equal(AdmissionResult.Admitted, await Scheduler.AdmitAsync(new ScheduledDeployment(spec, 1, 1)));
        fixture.Faults.FailWrites(Scheduler);

        await Assert.ThrowsAnyAsync<Exception>(() => Scheduler.RemoveAsync(spec.DeploymentId));
        Assert.Contains(await Scheduler.ListAsync(), d => d.Spec.DeploymentId == spec.DeploymentId);
        Assert.True(await Scheduler.RemoveAsync(spec.DeploymentId));

        await fixture.Cluster.DeactivateAsync(Scheduler);
        Assert.DoesNotContain(await Scheduler.ListAsync(), d => d.Spec.DeploymentId == spec.DeploymentId);
    }

    [Fact]
    public async Task ReconcileLoop_NodeCallThrowsSomethingUnexpected_IsLoggedAndTheClaimIsMadeAgain()
    {
        var region = TestFleet.NewId("r");
        var nodeId = TestFleet.NewId("n");
        var (node, _) = await TestFleet.ReadyNodeAsync(Grains, nodeId, region);
        var spec = TestFleet.Spec(TestFleet.NewId("bug"), region, max: 1);
        fixture.Faults.FailCalls(node, nameof(INodeGrain.ClaimAsync));

        Assert.Equal(AdmissionResult.Admitted, await Scheduler.AdmitAsync(new ScheduledDeployment(spec, 1, 1)));

        // Not an Orleans error (a bug in the node grain, a message that cannot be serialized): the outcome is just as
        // unknown. The scheduler says so, reads the node again and claims again.
        var placed = await Poll.UntilAsync(
            async () => (await node.GetPlacementAsync())!.Replicas,
            replicas => replicas.Length == 1,
            TimeSpan.FromSeconds(20),
            "the replica on the node");
        Assert.Contains(fixture.Log.Entries, e => IsSchedulerWarningAbout(e, nodeId) && e.Message.Contains("injected failure", StringComparison.Ordinal));
        Assert.Equal(placed[0].ReplicaId, Assert.Single((await Scheduler.GetReplicasAsync(spec.DeploymentId))!).ReplicaId);
    }

    [Fact]
    public async Task ReconcileLoop_NodeWriteFailsOnAClaim_TheClaimIsMadeAgainAndStored()
    {
        var region = TestFleet.NewId("r");
        var nodeId = TestFleet.NewId("n");
        var (node, _) = await TestFleet.ReadyNodeAsync(Grains, nodeId, region);
        var spec = TestFleet.Spec(TestFleet.NewId("claim"), region, max: 1);
        fixture.Faults.FailWrites(node);

        Assert.Equal(AdmissionResult.Admitted, await Scheduler.AdmitAsync(new ScheduledDeployment(spec, 1, 1)));

        var placed = await Poll.UntilAsync(
            async () => (await node.GetPlacementAsync())!.Replicas,
            replicas => replicas.Length == 1,
            TimeSpan.FromSeconds(20),
            "the replica on the node");
        Assert.Contains(fixture.Log.Entries, e => IsSchedulerWarningAbout(e, nodeId));

        // What the node answered is what it stored.
        await fixture.Cluster.DeactivateAsync(node);
        Assert.Equal(placed[0].ReplicaId, Assert.Single((await node.GetPlacementAsync())!.Replicas).ReplicaId);
        Assert.Equal(placed[0].ReplicaId, Assert.Single((await Scheduler.GetReplicasAsync(spec.DeploymentId))!).ReplicaId);
    }

    [Fact]
    public async Task SilenceCheck_NodeCallThrowsSomethingUnexpected_IsLogged()
    {
        // A ready node whose agent is never heard again: once it is silent for the suspect window, the scheduler asks
        // its grain to check its health, without waiting for the answer. The first of those calls fails with what a
        // bug would throw, not an Orleans error.
        var nodeId = TestFleet.NewId("n");
        var (node, _) = await TestFleet.ReadyNodeAsync(Grains, nodeId, TestFleet.NewId("r"));
        fixture.Faults.FailCalls(node, nameof(INodeGrain.CheckSilenceAsync));
        await Scheduler.ListAsync();

        await Poll.UntilAsync(
            () => Task.FromResult(fixture.Log.Entries),
            entries => entries.Any(e => IsSchedulerWarningAbout(e, nodeId) && e.Message.Contains("injected failure", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(40),
            "the scheduler's warning about the failed silence check");
    }

    private static bool IsSchedulerWarningAbout(LogRecorder.Entry entry, string nodeId) =>
        entry.Category == typeof(ControlPlane.Grains.Deployments.SchedulerGrain).FullName
        && entry.Level >= LogLevel.Warning
        && entry.Message.Contains(nodeId, StringComparison.Ordinal);

    private Task<int> StoredVersionAsync() => StoredVersions.ReadAsync(fixture.ConnectionString, "scheduler", GrainKeys.Scheduler);
}
