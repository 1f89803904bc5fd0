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
