using ControlPlane.Domain.Fleet;

namespace ControlPlane.Domain.Tests.Fleet;

public sealed class HeardNodesTests
{
    private static readonly HeartbeatPolicy Policy = new(TimeSpan.FromSeconds(5), 2, 4);
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private static readonly Func<string, bool> NoneGone = _ => false;

    [Fact]
    public void IsHeard_NodeNotReportedSinceTheStart_CountsAsHeardAtTheStart()
    {
        var record = new HeardNodes(Policy, T0, TimeSpan.Zero);

        Assert.True(record.IsHeard("gpu-1", T0.AddSeconds(10)));
        Assert.False(record.IsHeard("gpu-1", T0.AddSeconds(10.001)));
    }

    [Fact]
    public void IsHeard_WithinTheSuspectWindowOfTheLastReport()
    {
        var record = new HeardNodes(Policy, T0, TimeSpan.Zero);
        record.Heard("gpu-1", T0.AddSeconds(30), "silo-a");

        Assert.True(record.IsHeard("gpu-1", T0.AddSeconds(40)));
        Assert.False(record.IsHeard("gpu-1", T0.AddSeconds(40.001)));
    }

    [Fact]
    public void Heard_AnOlderReport_DoesNotMoveTheRecordBack()
    {
        var record = new HeardNodes(Policy, T0, TimeSpan.Zero);
        record.Heard("gpu-1", T0.AddSeconds(30), "silo-a");
        record.Heard("gpu-1", T0.AddSeconds(20), "silo-b");

        Assert.Equal(T0.AddSeconds(30), record.HeardAt("gpu-1"));
        Assert.True(Assert.Single(record.DueForCheck(["gpu-1"], T0.AddSeconds(41), r => r == "silo-a")).GrainLost);
    }

    [Fact]
    public void DueForCheck_SilentNode_IsDueEveryTwoSecondsWithItsSilence_UntilHeardAgain()
    {
        var record = new HeardNodes(Policy, T0, TimeSpan.Zero);
        record.Heard("gpu-1", T0, "silo-a");
        record.Heard("gpu-2", T0, "silo-a");
        record.Heard("gpu-2", T0.AddSeconds(9), "silo-a");
        string[] nodes = ["gpu-1", "gpu-2"];

        Assert.Empty(record.DueForCheck(nodes, T0.AddSeconds(10), NoneGone));
        Assert.Equal([("gpu-1", TimeSpan.FromSeconds(11), false)], record.DueForCheck(nodes, T0.AddSeconds(11), NoneGone));
        Assert.Empty(record.DueForCheck(nodes, T0.AddSeconds(12.9), NoneGone));
        Assert.Equal([("gpu-1", TimeSpan.FromSeconds(13), false)], record.DueForCheck(nodes, T0.AddSeconds(13), NoneGone));

        record.Heard("gpu-1", T0.AddSeconds(17), "silo-b");
        Assert.Empty(record.DueForCheck(nodes, T0.AddSeconds(18), NoneGone));
        Assert.Equal(
            [("gpu-2", TimeSpan.FromSeconds(18.5), false), ("gpu-1", TimeSpan.FromSeconds(10.5), false)],
            record.DueForCheck(nodes.Reverse(), T0.AddSeconds(27.5), NoneGone));
    }

    [Fact]
    public void DueForCheck_GrainLost_WhenTheReportingSiloIsGoneOrNoSiloReportedTheNode()
    {
        var record = new HeardNodes(Policy, T0, TimeSpan.Zero);
        record.Heard("on-dead-silo", T0.AddSeconds(1), "silo-dead");
        record.Heard("on-live-silo", T0.AddSeconds(1), "silo-live");

        var due = record.DueForCheck(["on-dead-silo", "on-live-silo", "never-reported"], T0.AddSeconds(12), r => r == "silo-dead");

        Assert.Equal(
            [("on-dead-silo", TimeSpan.FromSeconds(11), true), ("on-live-silo", TimeSpan.FromSeconds(11), false), ("never-reported", TimeSpan.FromSeconds(12), true)],
            due);
    }

    [Fact]
    public void HeardAt_ANodeHandedOverFromAnEarlierKeeper_CountsFromWhenItWasHeard()
    {
        var handedOver = new Dictionary<string, HeardNode> { ["gpu-1"] = new(T0.AddSeconds(-30), "silo-a") };

        var record = new HeardNodes(Policy, T0, TimeSpan.Zero, handedOver);

        Assert.Equal(T0.AddSeconds(-30), record.HeardAt("gpu-1"));
        Assert.False(record.IsHeard("gpu-1", T0));
        Assert.True(record.IsHeard("gpu-2", T0));
    }

    [Fact]
    public void Merge_LateHandOver_NewerTimeOfEachNodeWins()
    {
        var record = new HeardNodes(Policy, T0, TimeSpan.Zero);
        record.Heard("gpu-1", T0.AddSeconds(5), "silo-b");

        record.Merge(new Dictionary<string, HeardNode>
        {
            ["gpu-1"] = new(T0.AddSeconds(2), "silo-a"),
            ["gpu-2"] = new(T0.AddSeconds(1), "silo-a"),
        });

        Assert.Equal(new HeardNode(T0.AddSeconds(5), "silo-b"), record.Known["gpu-1"]);
        Assert.Equal(new HeardNode(T0.AddSeconds(1), "silo-a"), record.Known["gpu-2"]);
    }

    [Fact]
    public void IsHeard_AllowsForTheLagOfTheSilosReports()
    {
        var record = new HeardNodes(Policy, T0, TimeSpan.FromSeconds(2));
        record.Heard("gpu-1", T0, "silo-a");

        Assert.True(record.IsHeard("gpu-1", T0.AddSeconds(12)));
        Assert.False(record.IsHeard("gpu-1", T0.AddSeconds(12.001)));
        Assert.Empty(record.DueForCheck(["gpu-1"], T0.AddSeconds(12), NoneGone));
        Assert.Single(record.DueForCheck(["gpu-1"], T0.AddSeconds(12.5), NoneGone));
    }

    [Theory]
    [InlineData(5, 2, 5)]
    [InlineData(1, 2, 1)]
    [InlineData(5, 1, 0)]
    public void StartOf_UnknownNodes_StayRoutableForOneInterval(int intervalSeconds, int suspectAfterMissed, int headStartSeconds)
    {
        var policy = new HeartbeatPolicy(TimeSpan.FromSeconds(intervalSeconds), suspectAfterMissed, suspectAfterMissed + 2);

        Assert.Equal(T0.AddSeconds(-headStartSeconds), HeardNodes.StartOf(policy, T0));
    }
}
