using ControlPlane.Simulator.Live;
using ControlPlane.Simulator.Simulation;
using ControlPlane.Simulator.Tests.Simulation;

namespace ControlPlane.Simulator.Tests.Live;

public sealed class UsageEventsTests
{
    private static readonly MeteredDeployment Acme = new("acme-chat", "acme", "llama-3.1-70b");
    private static readonly DateTimeOffset From = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Build_Requests_OneEventEachWithItsTokensAndWhereItFallsInTheInterval()
    {
        TraceRequest[] requests = [new(0, 7, 100, 300, 40), new(0, 8, 101.5, 20, 5), new(1, 0, 102, 1, 1)];

        var batch = UsageEvents.Build("run1", 3, Acme, requests, (100, 102), (From, From.AddSeconds(10)));

        Assert.NotNull(batch);
        Assert.Equal("acme-chat/run1/3", batch.BatchId);
        Assert.Equal(
            [
                new UsageEvent("acme-chat/run1/0/7", "acme", "acme-chat", "llama-3.1-70b", 300, 40, From),
                new UsageEvent("acme-chat/run1/0/8", "acme", "acme-chat", "llama-3.1-70b", 20, 5, From.AddSeconds(7.5)),
                new UsageEvent("acme-chat/run1/1/0", "acme", "acme-chat", "llama-3.1-70b", 1, 1, From.AddSeconds(10)),
            ],
            batch.Events);
        Assert.Equal((321L, 46L), (batch.InputTokens, batch.OutputTokens));
    }

    [Fact]
    public void Build_NoRequests_NoBatch() =>
        Assert.Null(UsageEvents.Build("run1", 1, Acme, [], (0, 1), (From, From.AddSeconds(5))));

    [Fact]
    public void Build_SameIntervalTwice_SameIds()
    {
        var replay = new TraceReplay(SimulationInputs.AzureTrace, 600, 0.2, SpikeSchedule.None, 10);
        var requests = replay.RequestsBetween(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30));
        var trace = (replay.PositionAt(TimeSpan.FromSeconds(5)), replay.PositionAt(TimeSpan.FromSeconds(30)));

        var first = UsageEvents.Build("run1", 2, Acme, requests, trace, (From, From.AddSeconds(25)));
        var again = UsageEvents.Build("run1", 2, Acme, replay.RequestsBetween(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30)), trace, (From, From.AddSeconds(25)));

        Assert.NotNull(first);
        Assert.Equal(first.BatchId, again!.BatchId);
        Assert.Equal(first.Events, again.Events);
        Assert.Equal(first.Events.Count, first.Events.Select(e => e.EventId).Distinct().Count());
        Assert.Equal(requests.Sum(r => r.InputTokens), first.InputTokens);
    }

    [Fact]
    public void Build_AnotherRunOrLoop_OtherIds()
    {
        TraceRequest[] loop0 = [new(0, 5, 5, 10, 1)];
        TraceRequest[] loop1 = [new(1, 5, 105, 10, 1)];

        var ids = new[]
        {
            UsageEvents.Build("run1", 1, Acme, loop0, (0, 10), (From, From))!.Events[0].EventId,
            UsageEvents.Build("run1", 1, Acme, loop1, (100, 110), (From, From))!.Events[0].EventId,
            UsageEvents.Build("run2", 1, Acme, loop0, (0, 10), (From, From))!.Events[0].EventId,
        };

        Assert.Equal(["acme-chat/run1/0/5", "acme-chat/run1/1/5", "acme-chat/run2/0/5"], ids);
    }

    [Fact]
    public void Build_MoreRequestsThanABatchHolds_GroupsConsecutiveRequestsKeepingEveryToken()
    {
        var requests = Enumerable.Range(0, 1_000).Select(i => new TraceRequest(2, i, i / 10.0, i, 1)).ToArray();

        var batch = UsageEvents.Build("run1", 9, Acme, requests, (0, 100), (From, From.AddSeconds(100)));

        Assert.NotNull(batch);
        Assert.Equal(UsageEvents.MaxEventsPerBatch, batch.Events.Count);
        Assert.Equal(new UsageEvent("acme-chat/run1/2/0+5", "acme", "acme-chat", "llama-3.1-70b", 0 + 1 + 2 + 3 + 4, 5, From), batch.Events[0]);
        Assert.Equal("acme-chat/run1/2/995+5", batch.Events[^1].EventId);
        Assert.Equal((requests.Sum(r => r.InputTokens), 1_000L), (batch.InputTokens, batch.OutputTokens));
    }

    [Fact]
    public void RunId_StartInstant_ToTheMillisecondInUtc() =>
        Assert.Equal("20260302T113005123Z", UsageEvents.RunId(new DateTimeOffset(2026, 3, 2, 12, 30, 5, 123, TimeSpan.FromHours(1))));
}
