using ControlPlane.Domain.Fleet;
using CsCheck;

namespace ControlPlane.Domain.Tests.Fleet;

public sealed class HeartbeatPolicyTests
{
    private static readonly HeartbeatPolicy Policy = new(TimeSpan.FromSeconds(5), 2, 4);
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(0, NodeHealth.Ready)]
    [InlineData(10, NodeHealth.Ready)]
    [InlineData(10.001, NodeHealth.Suspect)]
    [InlineData(20, NodeHealth.Suspect)]
    [InlineData(20.001, NodeHealth.Down)]
    public void Evaluate_ReadyNode_FollowsMissedIntervals(double silenceSeconds, NodeHealth expected)
    {
        Assert.Equal(expected, Policy.Evaluate(NodeHealth.Ready, T0, T0.AddSeconds(silenceSeconds)));
    }

    [Fact]
    public void Evaluate_EnrolledOrDownNode_StaysUntilAHeartbeat()
    {
        Assert.Equal(NodeHealth.Enrolled, Policy.Evaluate(NodeHealth.Enrolled, T0, T0.AddHours(1)));
        Assert.Equal(NodeHealth.Down, Policy.Evaluate(NodeHealth.Down, T0, T0));
    }

    [Fact]
    public void Evaluate_LongerSilence_NeverMakesANodeHealthier()
    {
        Gen.Select(Gen.Int[0, 100_000], Gen.Int[0, 100_000], Gen.Int[1, 60], Gen.Int[1, 10], Gen.Int[1, 10])
            .Sample((a, b, interval, suspect, extra) =>
            {
                var policy = new HeartbeatPolicy(TimeSpan.FromSeconds(interval), suspect, suspect + extra);
                var shorter = policy.Evaluate(NodeHealth.Ready, T0, T0.AddMilliseconds(Math.Min(a, b) * 10L));
                var longer = policy.Evaluate(NodeHealth.Ready, T0, T0.AddMilliseconds(Math.Max(a, b) * 10L));
                return Rank(longer) >= Rank(shorter);
            });
    }

    [Theory]
    [InlineData(0, NodeHealth.Ready)]
    [InlineData(10, NodeHealth.Ready)]
    [InlineData(10.001, NodeHealth.Suspect)]
    [InlineData(20.001, NodeHealth.Down)]
    public void Evaluate_FreshActivationWithoutRecord_GivesTheAgentAFullWindowFromTheActivation(double secondsAfterActivation, NodeHealth expected)
    {
        var activated = NodeLiveness.Activated(T0);

        Assert.Equal(expected, Policy.Evaluate(NodeHealth.Ready, activated, T0.AddSeconds(secondsAfterActivation)));
    }

    [Theory]
    [InlineData(15, NodeHealth.Suspect)]
    [InlineData(20.001, NodeHealth.Suspect)]
    [InlineData(24.999, NodeHealth.Suspect)]
    [InlineData(25, NodeHealth.Down)]
    public void Evaluate_GrainLostWithItsSilo_SuspectAtOnceButDownOnlyAfterTheGrace(double secondsAfterHeard, NodeHealth expected)
    {
        // The cluster last heard the agent at T0; its grain came back 15 s later (its silo died): a live agent that
        // could not reach it gets the grace (10 s) to reach the new activation before the node is called down.
        var liveness = NodeLiveness.Activated(T0.AddSeconds(15)).WithRecord(T0, grainLost: true);

        Assert.Equal(expected, Policy.Evaluate(NodeHealth.Ready, liveness, T0.AddSeconds(secondsAfterHeard)));
    }

    [Theory]
    [InlineData(10, NodeHealth.Ready)]
    [InlineData(10.001, NodeHealth.Suspect)]
    [InlineData(20, NodeHealth.Suspect)]
    [InlineData(20.001, NodeHealth.Down)]
    public void Evaluate_GrainLostButBackSoonAfterTheRecord_KeepsTheDocumentedTiming(double secondsAfterHeard, NodeHealth expected)
    {
        var liveness = NodeLiveness.Activated(T0.AddSeconds(4)).WithRecord(T0, grainLost: true);

        Assert.Equal(expected, Policy.Evaluate(NodeHealth.Ready, liveness, T0.AddSeconds(secondsAfterHeard)));
    }

    [Theory]
    [InlineData(15, NodeHealth.Suspect)]
    [InlineData(20, NodeHealth.Suspect)]
    [InlineData(20.001, NodeHealth.Down)]
    public void Evaluate_GrainOfARunningSiloCameBack_CountsTheRecordedSilenceInFull(double secondsAfterHeard, NodeHealth expected)
    {
        // Orleans deactivated the grain on a silo that runs (the silo holding its directory entry died): a live agent
        // reached it, or its next activation, all along, so nothing is forgiven.
        var liveness = NodeLiveness.Activated(T0.AddSeconds(15)).WithRecord(T0, grainLost: false);

        Assert.Equal(expected, Policy.Evaluate(NodeHealth.Ready, liveness, T0.AddSeconds(secondsAfterHeard)));
    }

    [Fact]
    public void WithRecord_ActivationHeardTheAgentItself_ChangesNothing()
    {
        var heard = NodeLiveness.Activated(T0).HeardAgain(T0.AddSeconds(3));

        Assert.Equal(heard, heard.WithRecord(T0.AddSeconds(1), grainLost: true));
        Assert.Equal(NodeHealth.Ready, Policy.Evaluate(NodeHealth.Ready, heard.WithRecord(T0.AddSeconds(-60), grainLost: false), T0.AddSeconds(13)));
    }

    [Fact]
    public void WithRecord_NotOlderThanTheActivation_ChangesNothing()
    {
        var activated = NodeLiveness.Activated(T0);

        Assert.Equal(activated, activated.WithRecord(T0.AddSeconds(2), grainLost: true));
    }

    [Fact]
    public void HeardAgain_AfterARecord_DropsTheGrace()
    {
        var liveness = NodeLiveness.Activated(T0.AddSeconds(15)).WithRecord(T0, grainLost: true).HeardAgain(T0.AddSeconds(16));

        Assert.Equal(NodeHealth.Ready, Policy.Evaluate(NodeHealth.Suspect, liveness, T0.AddSeconds(26)));
        Assert.Equal(NodeHealth.Down, Policy.Evaluate(NodeHealth.Suspect, liveness, T0.AddSeconds(36.001)));
    }

    [Fact]
    public void NextChange_IsJustPastEachDeadline()
    {
        var heard = NodeLiveness.Heartbeat(T0);
        var recorded = NodeLiveness.Activated(T0.AddSeconds(15)).WithRecord(T0, grainLost: true);

        Assert.Equal(T0.AddMilliseconds(10_001), Policy.NextChange(NodeHealth.Ready, heard));
        Assert.Equal(T0.AddMilliseconds(20_001), Policy.NextChange(NodeHealth.Suspect, heard));
        Assert.Equal(T0.AddSeconds(25), Policy.NextChange(NodeHealth.Suspect, recorded));
        Assert.Null(Policy.NextChange(NodeHealth.Down, heard));
        Assert.Null(Policy.NextChange(NodeHealth.Enrolled, heard));
    }

    [Fact]
    public void Evaluate_AtNextChange_GivesAnotherAnswerThanJustBefore()
    {
        Gen.Select(Gen.Int[0, 120_000], Gen.Int[0, 120_000], Gen.Bool, Gen.Bool, Gen.Int[1, 30], Gen.Int[1, 5], Gen.Int[1, 5])
            .Sample((recordMs, activationMs, lost, ready, interval, suspect, extra) =>
            {
                var policy = new HeartbeatPolicy(TimeSpan.FromSeconds(interval), suspect, suspect + extra);
                var liveness = NodeLiveness.Activated(T0.AddMilliseconds(activationMs)).WithRecord(T0.AddMilliseconds(recordMs), lost);
                var health = ready ? NodeHealth.Ready : NodeHealth.Suspect;
                var next = policy.NextChange(health, liveness)!.Value;
                var before = policy.Evaluate(health, liveness, next.AddMilliseconds(-1));
                var at = policy.Evaluate(health, liveness, next);
                return Rank(before) == Rank(health) && Rank(at) > Rank(before);
            });
    }

    [Fact]
    public void Evaluate_WithALostGrainsRecord_NeverDownBeforeTheGraceAfterActivation()
    {
        Gen.Select(Gen.Int[0, 120_000], Gen.Int[0, 120_000], Gen.Int[0, 240_000])
            .Sample((recordMs, activationMs, nowMs) =>
            {
                var activatedAt = T0.AddMilliseconds(activationMs);
                var liveness = NodeLiveness.Activated(activatedAt).WithRecord(T0.AddMilliseconds(recordMs), grainLost: true);
                var now = T0.AddMilliseconds(nowMs);
                return Policy.Evaluate(NodeHealth.Ready, liveness, now) != NodeHealth.Down || now >= activatedAt + Policy.ReactivationGrace;
            });
    }

    private static int Rank(NodeHealth health) => health switch
    {
        NodeHealth.Ready => 0,
        NodeHealth.Suspect => 1,
        _ => 2,
    };
}

public sealed class HeartbeatSequenceTests
{
    [Fact]
    public void Judge_SameSession_AcceptsOnlyNewer()
    {
        Assert.Equal(SequenceVerdict.Accept, HeartbeatSequence.Judge("s1", 5, "s1", 6));
        Assert.Equal(SequenceVerdict.Stale, HeartbeatSequence.Judge("s1", 5, "s1", 5));
        Assert.Equal(SequenceVerdict.Stale, HeartbeatSequence.Judge("s1", 5, "s1", 4));
    }

    [Fact]
    public void Judge_RestartedAgent_IsAcceptedDespiteLowerSequence()
    {
        Assert.Equal(SequenceVerdict.AcceptNewSession, HeartbeatSequence.Judge("s1", 500, "s2", 1));
    }

    [Fact]
    public void Judge_FirstHeartbeatAfterActivation_IsAccepted()
    {
        Assert.Equal(SequenceVerdict.AcceptNewSession, HeartbeatSequence.Judge(null, 0, "s1", 42));
    }

    [Fact]
    public void Judge_AgentWithoutSession_RestartAtOneIsAccepted_DelayedOneIsNot()
    {
        Assert.Equal(SequenceVerdict.AcceptNewSession, HeartbeatSequence.Judge(null, 500, null, 1));
        Assert.Equal(SequenceVerdict.Stale, HeartbeatSequence.Judge(null, 500, null, 499));
        Assert.Equal(SequenceVerdict.Accept, HeartbeatSequence.Judge(null, 500, null, 501));
    }

    [Fact]
    public void Judge_AnyInterleavingOfOneSession_AppliesAStrictlyIncreasingSubsequence()
    {
        Gen.Int[1, 1000].Array[1, 50].Sample(sequences =>
        {
            string? session = null;
            long last = 0;
            var applied = new List<long>();
            foreach (var sequence in sequences)
            {
                var verdict = HeartbeatSequence.Judge(session, last, "agent", sequence);
                if (verdict != SequenceVerdict.Stale)
                {
                    session = "agent";
                    last = sequence;
                    applied.Add(sequence);
                }
            }

            return applied.Zip(applied.Skip(1)).All(p => p.Second > p.First);
        });
    }
}
