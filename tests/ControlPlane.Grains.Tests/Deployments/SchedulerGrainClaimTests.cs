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
/// The scheduler's claims and releases against a real node grain whose calls fail (the protocol that
/// <c>ClaimsInFlightPropertyTests</c> drives without Orleans): a call whose outcome is unknown makes the node stale, the
/// node is read again (as often as that read fails) before anything more is decided about it, and the scheduler ends up
/// with exactly what the node holds.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class SchedulerGrainClaimTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private long _sequence = 2;

    private IGrainFactory Grains => fixture.Cluster.Client;

    private ISchedulerGrain Scheduler => Grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler);

    [Fact]
    public async Task Claim_TheNodeStoredItButTheAnswerWasLost_TheReadFindsItAndOneReplicaIsPlaced()
    {
        var (node, nodeId, spec) = await SetUpAsync("lost", max: 1);
        fixture.Faults.FailWritesAfterStoring(node);

        Assert.Equal(AdmissionResult.Admitted, await Scheduler.AdmitAsync(new ScheduledDeployment(spec, 1, 1)));

        var replica = await AgreedAsync(node, spec.DeploymentId, 1);
        Assert.Contains(fixture.Log.Entries, e => IsSchedulerWarningAbout(e, nodeId));
        Assert.Equal(0, Assert.Single(replica).Ordinal);
    }

    [Fact]
    public async Task Claim_FailsAndTheReadsOfTheNodeFailToo_TheNodeIsReadOnceItAnswersAndOneReplicaIsPlaced()
    {
        var (node, nodeId, spec) = await SetUpAsync("reads", max: 1);
        var token = _tokens[nodeId];
        fixture.Faults.FailCalls(node, nameof(INodeGrain.ClaimAsync));
        fixture.Faults.FailCalls(node, nameof(INodeGrain.GetPlacementAsync), count: 2);

        Assert.Equal(AdmissionResult.Admitted, await Scheduler.AdmitAsync(new ScheduledDeployment(spec, 1, 1)));

        // The claim and both reads fail (only the scheduler calls the node until then: the faults are its own), ...
        await Poll.UntilAsync(
            async () =>
            {
                // The node's agent keeps heartbeating meanwhile (the reads take a reconcile tick each), so it stays ready.
                await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, token, _sequence++));
                return fixture.Log.Entries.Count(e => IsSchedulerWarningAbout(e, nodeId) && e.Message.Contains("injected failure", StringComparison.Ordinal));
            },
            failures => failures >= 3,
            Deadline,
            "the scheduler's warnings about the failed claim and reads");

        // ... and the next read finds the node without the replica: it is claimed again, once.
        await AgreedAsync(node, spec.DeploymentId, 1, keepAlive: nodeId);
    }

    [Fact]
    public async Task Release_Fails_TheNodeIsReadAgainAndTheReplicaReleased()
    {
        var (node, _, spec) = await SetUpAsync("release", max: 2);
        Assert.Equal(AdmissionResult.Admitted, await Scheduler.AdmitAsync(new ScheduledDeployment(spec, 2, 1)));
        await AgreedAsync(node, spec.DeploymentId, 2);
        fixture.Faults.FailCalls(node, nameof(INodeGrain.ReleaseAsync));

        await Scheduler.SetDesiredAsync(spec.DeploymentId, 1, 1, 100m);

        var kept = await AgreedAsync(node, spec.DeploymentId, 1);
        Assert.Equal(0, Assert.Single(kept).Ordinal);
    }

    private async Task<(INodeGrain Node, string NodeId, DeploymentSpec Spec)> SetUpAsync(string name, int max)
    {
        var region = TestFleet.NewId("r");
        var nodeId = TestFleet.NewId("n");
        var (node, token) = await TestFleet.ReadyNodeAsync(Grains, nodeId, region);
        _tokens[nodeId] = token;
        return (node, nodeId, TestFleet.Spec(TestFleet.NewId(name), region, min: 0, max: max));
    }

    /// <summary>
    /// Waits until the node holds <paramref name="count"/> replicas and the scheduler holds exactly those; with
    /// <paramref name="keepAlive"/> (the node's id), its agent heartbeats meanwhile.
    /// </summary>
    private async Task<PlacedReplica[]> AgreedAsync(INodeGrain node, string deploymentId, int count, string? keepAlive = null)
    {
        var (onNode, _) = await Poll.UntilAsync(
            async () =>
            {
                if (keepAlive is { } nodeId)
                {
                    await node.HeartbeatAsync(TestFleet.Heartbeat(nodeId, _tokens[nodeId], _sequence++));
                }

                return ((await node.GetPlacementAsync())!.Replicas, await Scheduler.GetReplicasAsync(deploymentId));
            },
            views => views.Item1.Length == count
                && views.Item2 is { } known
                && known.Select(r => r.ReplicaId).Order().SequenceEqual(views.Item1.Select(r => r.ReplicaId).Order()),
            Deadline,
            $"{count} replica(s) on the node, as the scheduler knows them");
        return onNode;
    }

    private static bool IsSchedulerWarningAbout(LogRecorder.Entry entry, string nodeId) =>
        entry.Category == typeof(ControlPlane.Grains.Deployments.SchedulerGrain).FullName
        && entry.Level >= LogLevel.Warning
        && entry.Message.Contains(nodeId, StringComparison.Ordinal);
}
