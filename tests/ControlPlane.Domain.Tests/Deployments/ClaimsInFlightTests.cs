using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Placement;
using ControlPlane.Domain.Tests.Placement;

namespace ControlPlane.Domain.Tests.Deployments;

/// <summary>
/// Each way a node can answer the scheduler, one at a time: refusals, calls that time out before or after the node
/// handled them or land late, and reports that arrive before, during or after a claim's answer, or twice.
/// </summary>
public sealed class ClaimsInFlightTests
{
    private sealed record Report(string Name, long Version);

    private static ClaimsInFlight<Report> Calls() => new(r => r.Version);

    [Fact]
    public void Reported_NoCallsInFlight_IsAppliedAtOnce()
    {
        var calls = Calls();

        Assert.Equal(new Report("r", 3), calls.Reported("n0", new Report("r", 3)));
    }

    [Fact]
    public void Reported_WhileCallsAreInFlight_IsHeldAndTheNewestOfAnswersAndReportsIsAppliedAtTheEnd()
    {
        var calls = Calls();
        calls.Begin("n0");

        Assert.Null(calls.Reported("n0", new Report("before the claim", 5)));
        calls.Answered("n0", new Report("claim answer", 6));
        Assert.Null(calls.Reported("n0", new Report("turned ready", 7)));
        Assert.Null(calls.Reported("n0", new Report("late copy", 5)));

        Assert.Equal(new Report("turned ready", 7), calls.End("n0"));
        Assert.False(calls.IsInFlight("n0"));
        Assert.Equal(new Report("after", 8), calls.Reported("n0", new Report("after", 8)));
    }

    [Fact]
    public void End_AReportOlderThanTheAnswer_TheAnswerWinsAndOnATieToo()
    {
        var calls = Calls();
        calls.Begin("n0");
        calls.Reported("n0", new Report("sent before the claim", 5));
        calls.Answered("n0", new Report("release answer", 6));
        calls.Answered("n0", new Report("claim answer", 7));
        calls.Reported("n0", new Report("the same version, by the node's timer", 7));

        Assert.Equal(new Report("claim answer", 7), calls.End("n0"));
    }

    [Fact]
    public void Answered_InAnyOrder_TheNewestWins()
    {
        var calls = Calls();
        calls.Begin("n0");
        calls.Answered("n0", new Report("second", 7));
        calls.Answered("n0", new Report("first", 6));
        calls.Answered("n0", null);

        Assert.Equal(new Report("second", 7), calls.End("n0"));
    }

    [Fact]
    public void Lost_TheNodeIsStaleUntilReadAndItsEarlierAnswersStillCount()
    {
        var calls = Calls();
        calls.Begin("n0");
        calls.Answered("n0", new Report("release answer", 4));
        calls.Lost("n0");

        Assert.Equal(new Report("release answer", 4), calls.End("n0"));
        Assert.True(calls.IsStale("n0"));
        Assert.Equal(["n0"], calls.Stale);

        calls.Refreshed("n0");
        Assert.Empty(calls.Stale);
    }

    [Fact]
    public void Begin_TwiceOrEndWithoutBegin_Throws()
    {
        var calls = Calls();
        calls.Begin("n0");

        Assert.Throws<InvalidOperationException>(() => calls.Begin("n0"));
        Assert.Throws<InvalidOperationException>(() => calls.End("n1"));
        Assert.Throws<InvalidOperationException>(() => calls.Answered("n1", null));
        Assert.Throws<InvalidOperationException>(() => calls.Lost("n1"));
    }

    [Fact]
    public void ByNode_KeepsEachNodesDecisionsInOrderAndLeavesOutUnplaced()
    {
        var a = new ReleaseDecision("r1", "n0", ReleaseReason.ScaledDown);
        var b = new ReleaseDecision("r2", "n1", ReleaseReason.ScaledDown);
        var c = new ReleaseDecision("r3", "n0", ReleaseReason.Orphaned);
        var unplaced = new UnplacedDecision("d", 0, ReplicaTier.Batch);

        var byNode = ClaimsInFlight.ByNode([a, unplaced, b, c]);

        Assert.Equal(["n0", "n1"], byNode.Select(g => g.NodeId));
        Assert.Equal([a, c], byNode[0].Decisions);
        Assert.Equal([b], byNode[1].Decisions);
    }

    // The protocol with the scheduler's model and node grains' rules: one node, or two, and one thing going wrong.

    private static ClaimProtocol Protocol(int nodes, params DeploymentSpec[] specs)
    {
        var protocol = new ClaimProtocol(Enumerable.Range(0, nodes).Select(i => TestFleet.Node($"n{i}", 4)), seed: 1);
        protocol.AfterEachMessage = () => ClaimsInFlightPropertyTests.CheckSafety(protocol);
        foreach (var spec in specs)
        {
            protocol.Model.SetDeployment(new ScheduledDeployment(spec, spec.MaxReplicas, 1));
        }

        return protocol;
    }

    private static DeploymentSpec Dedicated(int max, int gpus = 2) => TestFleet.Spec("ded", gpus: gpus, reserved: max, max: max);

    [Fact]
    public void Claim_RefusedBecauseAnUnknownReplicaTookTheGpus_TheModelTakesTheNodesReportAndPlacesElsewhere()
    {
        var protocol = Protocol(1, Dedicated(max: 1));
        var decisions = protocol.BeginPass();
        var claim = Assert.IsType<ClaimDecision>(Assert.Single(decisions));
        // Behind the scheduler's back (an older activation during a failover) a reserved replica takes one of the GPUs;
        // the node's report of it is still on its way.
        var node = protocol.Nodes["n0"];
        Assert.True(node.Intrude("intruder.0", ReplicaTier.Reserved, claim.Claim.GpuIndices[0]));
        protocol.Send(node);

        protocol.FinishPass();

        Assert.Equal(ClaimOutcomeSeen.Refused, Assert.Single(protocol.Claims).Outcome);
        Assert.Null(protocol.Model.Snapshot.Find("n0")!.Slots.Holders.FirstOrDefault(h => h?.ReplicaId == claim.Replica.ReplicaId));
        Assert.Contains(protocol.Model.ReplicasOn("n0"), r => r.ReplicaId == "intruder.0");

        // The report that was on its way arrives now, older than the refusal's: it changes nothing.
        protocol.Receive(0);
        Assert.Contains(protocol.Model.ReplicasOn("n0"), r => r.ReplicaId == "intruder.0");

        // The next pass releases the unknown replica (its deployment is no one's) before it claims again: the taken GPU is
        // claimed only once its release went out first, in the node's order (ClaimProtocol checks every claim sent).
        decisions = protocol.BeginPass();
        var release = decisions.ToList().FindIndex(d => d is ReleaseDecision { ReplicaId: "intruder.0", Reason: ReleaseReason.Orphaned });
        var retry = decisions.ToList().FindIndex(d => d is ClaimDecision);
        Assert.True(release >= 0 && retry > release, $"release at {release}, claim at {retry}");
        protocol.FinishPass();
        Assert.Equal(ClaimOutcomeSeen.Accepted, protocol.Claims[^1].Outcome);

        Assert.True(protocol.Settle());
        ClaimsInFlightPropertyTests.CheckConverged(protocol);
    }

    [Fact]
    public void Claim_RefusedBecauseANonVictimHoldsAGpu_IsRetriedOnlyNamingItOnceTheModelKnowsIt()
    {
        var protocol = Protocol(1, Dedicated(max: 2));
        // A batch replica the scheduler has not heard of takes GPU 0.
        var node = protocol.Nodes["n0"];
        protocol.BeginPass();
        Assert.True(node.Intrude("intruder.0", ReplicaTier.Batch, 0));
        protocol.FinishPass();

        var refused = Assert.Single(protocol.Claims, c => c.Outcome == ClaimOutcomeSeen.Refused);
        Assert.Contains(0, refused.Claim.Claim.GpuIndices);
        // The next claim on GPU 0, if any, names the batch replica as its victim (ClaimProtocol checks every claim sent).
        Assert.True(protocol.Settle());
        ClaimsInFlightPropertyTests.CheckConverged(protocol);
        Assert.Equal(2, protocol.Nodes["n0"].Replicas.Count);
    }

    [Fact]
    public void Claim_RefusedByACordonedNode_IsPlacedOnAnotherNode()
    {
        var protocol = Protocol(2, Dedicated(max: 1, gpus: 4));
        var claim = Assert.IsType<ClaimDecision>(Assert.Single(protocol.BeginPass()));
        var node = protocol.Nodes[claim.Claim.NodeId];
        node.SetCordoned(true);

        protocol.FinishPass();

        Assert.Equal((claim, ClaimOutcomeSeen.Refused), Assert.Single(protocol.Claims));
        Assert.False(protocol.Model.Snapshot.Find(node.NodeId)!.Schedulable);
        var retry = Assert.IsType<ClaimDecision>(Assert.Single(protocol.BeginPass()));
        Assert.NotEqual(node.NodeId, retry.Claim.NodeId);
        protocol.FinishPass();
        Assert.Equal(ClaimOutcomeSeen.Accepted, protocol.Claims[^1].Outcome);
    }

    [Fact]
    public void Claim_LostBeforeTheNode_TheNodeIsReadAgainAndTheReplicaPlacedOnce()
    {
        var protocol = Protocol(1, Dedicated(max: 1));
        protocol.Deliver = (_, _) => Delivery.LostBefore;
        protocol.BeginPass();
        protocol.FinishPass();

        Assert.Equal(ClaimOutcomeSeen.TimedOut, Assert.Single(protocol.Claims).Outcome);
        Assert.True(protocol.Calls.IsStale("n0"));
        Assert.Empty(protocol.Nodes["n0"].Replicas);

        protocol.Deliver = (_, _) => Delivery.Answered;
        var retry = Assert.IsType<ClaimDecision>(Assert.Single(protocol.BeginPass()));
        protocol.FinishPass();

        Assert.False(protocol.Calls.IsStale("n0"));
        Assert.Equal([retry.Replica.ReplicaId], protocol.Nodes["n0"].Replicas.Select(r => r.ReplicaId));
        Assert.True(protocol.Settle());
        ClaimsInFlightPropertyTests.CheckConverged(protocol);
    }

    [Fact]
    public void Claim_AnswerLost_TheReadFindsTheReplicaAndNothingIsClaimedAgain()
    {
        var protocol = Protocol(1, Dedicated(max: 1));
        protocol.Deliver = (_, _) => Delivery.LostAnswer;
        var claim = Assert.IsType<ClaimDecision>(Assert.Single(protocol.BeginPass()));
        protocol.FinishPass();

        Assert.True(protocol.Calls.IsStale("n0"));
        protocol.Deliver = (_, _) => Delivery.Answered;
        Assert.Empty(protocol.BeginPass());

        Assert.Equal([claim.Replica.ReplicaId], protocol.Model.ReplicasOn("n0").Select(r => r.ReplicaId));
        Assert.Equal([claim.Replica.ReplicaId], protocol.Nodes["n0"].Replicas.Select(r => r.ReplicaId));
    }

    [Fact]
    public void Claim_ReadFailsToo_TheNodeStaysStaleAndIsReadOnTheNextPass()
    {
        var protocol = Protocol(1, Dedicated(max: 1));
        protocol.Deliver = (_, _) => Delivery.LostAnswer;
        protocol.BeginPass();
        protocol.FinishPass();
        protocol.ReadFails = _ => true;

        // Nothing new is decided: the model still counts the claim it sent (placed until the node says otherwise).
        Assert.Empty(protocol.BeginPass());
        Assert.True(protocol.Calls.IsStale("n0"));

        protocol.ReadFails = _ => false;
        Assert.Empty(protocol.BeginPass());
        Assert.False(protocol.Calls.IsStale("n0"));
        ClaimsInFlightPropertyTests.CheckConverged(protocol);
    }

    [Fact]
    public void Claim_LandingLateBeforeTheRead_TheReadFindsItAndNothingIsClaimedAgain()
    {
        var protocol = Protocol(1, Dedicated(max: 1));
        protocol.Deliver = (_, _) => Delivery.Late;
        var late = Assert.IsType<ClaimDecision>(Assert.Single(protocol.BeginPass()));
        protocol.FinishPass();
        Assert.Equal(ClaimOutcomeSeen.TimedOut, Assert.Single(protocol.Claims).Outcome);

        // The node runs the call after the scheduler gave up; its answer goes nowhere.
        protocol.DeliverLate(0);
        Assert.Equal(protocol.Nodes["n0"].Version, protocol.Nodes["n0"].Heard);

        protocol.Deliver = (_, _) => Delivery.Answered;
        Assert.Empty(protocol.BeginPass());
        Assert.Equal([late.Replica.ReplicaId], protocol.Model.ReplicasOn("n0").Select(r => r.ReplicaId));
        ClaimsInFlightPropertyTests.CheckConverged(protocol);
    }

    [Fact]
    public void Claim_TimedOutAndNeverRun_TheReadFindsNothingAndTheOrdinalIsPlacedAgainOnce()
    {
        var protocol = Protocol(1, Dedicated(max: 1));
        protocol.Deliver = (_, _) => Delivery.LostBefore;
        var lost = Assert.IsType<ClaimDecision>(Assert.Single(protocol.BeginPass()));
        protocol.FinishPass();

        protocol.Deliver = (_, _) => Delivery.Answered;
        var again = Assert.IsType<ClaimDecision>(Assert.Single(protocol.BeginPass()));
        protocol.FinishPass();

        Assert.NotEqual(lost.Replica.ReplicaId, again.Replica.ReplicaId);
        Assert.Equal(lost.Replica.Ordinal, again.Replica.Ordinal);
        Assert.Equal([again.Replica.ReplicaId], protocol.Nodes["n0"].Replicas.Select(r => r.ReplicaId));
        Assert.True(protocol.Settle());
        ClaimsInFlightPropertyTests.CheckConverged(protocol);
    }

    [Fact]
    public void Report_SentBeforeTheClaimAndArrivingWhileItIsInFlight_IsHeldAndTheAnswerWins()
    {
        var protocol = Protocol(1, Dedicated(max: 1));
        var node = protocol.Nodes["n0"];
        protocol.BeginPass();
        protocol.FinishPass();
        var first = Assert.Single(node.Replicas);
        // The agent turns the replica ready; the node's report is slow to arrive.
        node.TurnReady(new Random(1));
        protocol.Send(node);

        // A second replica is wanted; its claim goes out and the old report arrives while it is in flight.
        protocol.Model.SetDeployment(new ScheduledDeployment(Dedicated(max: 2), 2, 1));
        var claim = Assert.IsType<ClaimDecision>(Assert.Single(protocol.BeginPass()));
        protocol.Receive(0);
        Assert.Contains(protocol.Model.ReplicasOn("n0"), r => r.ReplicaId == claim.Replica.ReplicaId);
        protocol.FinishPass();

        Assert.Equal(
            [(first.ReplicaId, ReplicaState.Ready), (claim.Replica.ReplicaId, ReplicaState.Starting)],
            protocol.Model.ReplicasOn("n0").OrderBy(r => r.Ordinal).Select(r => (r.ReplicaId, r.State)));
    }

    [Fact]
    public void Report_NewerThanTheAnswerArrivingWhileInFlight_IsAppliedWhenTheCallsEnd()
    {
        var protocol = Protocol(1, Dedicated(max: 1));
        var node = protocol.Nodes["n0"];
        protocol.BeginPass();
        protocol.Step();
        // The node already changed again (its agent turned the replica ready) and says so before the pass ends.
        node.TurnReady(new Random(1));
        protocol.Send(node);
        protocol.Receive(0);
        Assert.Equal(ReplicaState.Starting, Assert.Single(protocol.Model.ReplicasOn("n0")).State);

        protocol.FinishPass();

        Assert.Equal(ReplicaState.Ready, Assert.Single(protocol.Model.ReplicasOn("n0")).State);
    }

    [Fact]
    public void Report_ArrivingAfterTheAnswerAndTwice_ChangesNothing()
    {
        var protocol = Protocol(1, Dedicated(max: 1));
        var node = protocol.Nodes["n0"];
        var before = node.Report();
        protocol.BeginPass();
        protocol.FinishPass();
        var after = protocol.Model.ReplicasOn("n0");

        // A report the node sent before the claim arrives after its answer, twice.
        protocol.Network.Add(before);
        protocol.Receive(0, keep: true);
        protocol.Receive(0);

        Assert.Equal(after, protocol.Model.ReplicasOn("n0"));
        Assert.Empty(protocol.BeginPass());
    }
}
