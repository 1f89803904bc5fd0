using ControlPlane.Domain.Fleet;

namespace ControlPlane.Domain.Tests.Fleet;

public sealed class SleepingEngineTests
{
    private static SleepingEngine Engine(string deployment, int gpu, long bytes = 100, bool batch = false) =>
        new(deployment, "model", [gpu], bytes, batch);

    [Fact]
    public void Admit_RoomLeft_AddsTheEngineLast()
    {
        var asleep = new[] { Engine("a", 0), Engine("b", 1) };

        Assert.Equal([.. asleep, Engine("c", 2)], SleepingEngine.Admit(asleep, Engine("c", 2), 300));
    }

    [Fact]
    public void Admit_NoRoom_StopsBatchEnginesFirstThenTheLongestAsleep()
    {
        var asleep = new[] { Engine("a", 0), Engine("batch", 1, batch: true), Engine("b", 2) };

        Assert.Equal([Engine("a", 0), Engine("b", 2), Engine("c", 3)], SleepingEngine.Admit(asleep, Engine("c", 3), 300));
        Assert.Equal([Engine("c", 3, bytes: 300)], SleepingEngine.Admit(asleep, Engine("c", 3, bytes: 300), 300));
    }

    [Fact]
    public void Admit_BatchEngine_NeverStopsAnotherKindToSleep()
    {
        var asleep = new[] { Engine("batch", 0, batch: true), Engine("a", 1) };

        Assert.Equal([Engine("a", 1), Engine("batch", 2, batch: true)], SleepingEngine.Admit(asleep, Engine("batch", 2, batch: true), 200));
        Assert.Null(SleepingEngine.Admit([Engine("a", 1), Engine("b", 2)], Engine("batch", 3, batch: true), 200));
    }

    [Fact]
    public void Admit_LargerThanTheWholeBudget_IsRefusedAndStopsNothing()
    {
        Assert.Null(SleepingEngine.Admit([Engine("a", 0)], Engine("b", 1, bytes: 301), 300));
    }

    [Fact]
    public void Admit_AtMostMaxPerNode()
    {
        var asleep = Enumerable.Range(0, SleepingEngine.MaxPerNode).Select(i => Engine($"d{i}", i, bytes: 1)).ToArray();

        var admitted = SleepingEngine.Admit(asleep, Engine("new", 0, bytes: 1), long.MaxValue)!;

        Assert.Equal(SleepingEngine.MaxPerNode, admitted.Count);
        Assert.Equal(Engine("d1", 1, bytes: 1), admitted[0]);
        Assert.Equal(Engine("new", 0, bytes: 1), admitted[^1]);
    }
}
