using ControlPlane.Simulator.Live;
using static ControlPlane.Simulator.Live.ChaosKind;

namespace ControlPlane.Simulator.Tests.Live;

public sealed class ChaosScheduleTests
{
    [Fact]
    public void Next_FourNodes_CrashesRoundRobinAndFailsGpusOnce()
    {
        var schedule = new ChaosSchedule(4);

        var ticks = Enumerable.Range(1, 6).Select(schedule.Next).ToArray();

        Assert.Equal([new(Crash, 0)], ticks[0]);
        Assert.Equal([new(Crash, 1), new(FailGpus, 3)], ticks[1]);
        Assert.Equal([new(Restart, 0), new(RecoverGpus, 3), new(Crash, 2)], ticks[2]);
        Assert.Equal([new(Restart, 1), new(Crash, 3)], ticks[3]);
        Assert.Equal([new(Restart, 2), new(Crash, 0)], ticks[4]);
        Assert.Equal([new(Restart, 3), new(Crash, 1)], ticks[5]);
    }

    [Fact]
    public void Next_OneNode_NeverCrashesWhatJustCameBack()
    {
        var schedule = new ChaosSchedule(1);

        var ticks = Enumerable.Range(1, 5).Select(schedule.Next).ToArray();

        Assert.Equal([new(Crash, 0)], ticks[0]);
        Assert.Empty(ticks[1]);
        Assert.Equal([new(Restart, 0)], ticks[2]);
        Assert.Equal([new(Crash, 0)], ticks[3]);
        Assert.Empty(ticks[4]);
    }

    [Fact]
    public void Next_ManyTicks_EveryCrashIsFollowedByARestart()
    {
        var schedule = new ChaosSchedule(5);
        var down = new HashSet<int>();

        foreach (var action in Enumerable.Range(1, 200).SelectMany(schedule.Next))
        {
            switch (action.Kind)
            {
                case Crash:
                    Assert.True(down.Add(action.Node), $"node {action.Node} crashed twice");
                    break;
                case Restart:
                    Assert.True(down.Remove(action.Node), $"node {action.Node} restarted while running");
                    break;
            }
        }

        Assert.InRange(down.Count, 1, 2);
    }
}
