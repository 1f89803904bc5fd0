using ControlPlane.Simulator.Live;
using ControlPlane.Simulator.Simulation;
using ControlPlane.Simulator.Tests.Simulation;

namespace ControlPlane.Simulator.Tests.Live;

public sealed class TraceReplayTests
{
    private static readonly SpikeSchedule Spikes = new(TimeSpan.FromSeconds(100), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30), 4);

    /// <summary>One request a second, 10 input and 2 output tokens each: 12 tokens/s, period 100 s.</summary>
    private static Trace Steady() => Trace.FromRequests("steady", Enumerable.Range(0, 100).Select(s => ((double)s, 10L, 2L)));

    [Theory]
    [InlineData(0, false, 0)]
    [InlineData(19.9, false, 0)]
    [InlineData(20, true, 0)]
    [InlineData(35, true, 15)]
    [InlineData(50, false, 30)]
    [InlineData(110, false, 30)]
    [InlineData(120, true, 30)]
    [InlineData(125, true, 35)]
    [InlineData(260, false, 90)]
    public void SpikeSchedule_AnyTime_SpikesInItsWindowEveryCycle(double seconds, bool spiking, double spikeSecondsBefore)
    {
        var elapsed = TimeSpan.FromSeconds(seconds);

        Assert.Equal(spiking, Spikes.IsSpiking(elapsed));
        Assert.Equal(spikeSecondsBefore, Spikes.SpikeSecondsBefore(elapsed), 9);
    }

    [Fact]
    public void ForMeanRate_ShippedTrace_SpeedGivesTheMeanRate()
    {
        var trace = SimulationInputs.AzureTrace;

        var replay = TraceReplay.ForMeanRate(trace, 1_500, 0, SpikeSchedule.None);

        Assert.Equal(1_500, replay.Speed * trace.MeanTokensPerSecond, 6);
    }

    [Theory]
    [InlineData(10, 2 + 10 * 0.5)]
    [InlineData(20, 2 + 20 * 0.5)]
    [InlineData(30, 2 + 20 * 0.5 + 10 * 2)]
    [InlineData(60, 2 + 20 * 0.5 + 30 * 2 + 10 * 0.5)]
    [InlineData(100, 2 + 70 * 0.5 + 30 * 2)]
    public void PositionAt_SpeedAndSpikes_IntegratesTheSpeed(double seconds, double position)
    {
        var replay = new TraceReplay(Steady(), 2, 0.5, Spikes, 10);

        Assert.Equal(position, replay.PositionAt(TimeSpan.FromSeconds(seconds)), 9);
    }

    [Fact]
    public void DemandAt_SteadyTrace_RateTimesSpeedAndTheSpikeAtOnce()
    {
        var replay = new TraceReplay(Steady(), 2, 0.5, Spikes, 10);

        Assert.Equal(6m, replay.DemandAt(TimeSpan.FromSeconds(10)));
        Assert.Equal(24m, replay.DemandAt(TimeSpan.FromSeconds(20)));
        Assert.Equal(24m, replay.DemandAt(TimeSpan.FromSeconds(49)));
        Assert.Equal(6m, replay.DemandAt(TimeSpan.FromSeconds(50)));
    }

    [Fact]
    public void DemandAt_BurstyTrace_AveragesOverTheSmoothingWindow()
    {
        // 100 tokens at 0 s, then nothing for 9 s: over a 10 s window that is 10 tokens/s, at speed 2 20 tokens/s.
        var trace = Trace.FromRequests("bursty", [(0, 100L), (9.5, 0L)]);
        var replay = new TraceReplay(trace, 0, 2, SpikeSchedule.None, 10);

        Assert.Equal(20m, replay.DemandAt(TimeSpan.FromSeconds(4)));
    }

    [Fact]
    public void RequestsBetween_IntervalsOfARun_EachRequestOnceAndTheirTokensAreTheDemand()
    {
        var replay = new TraceReplay(SimulationInputs.AzureTrace, 600, 0.2, Spikes, 10);
        var cuts = new[] { 0.0, 5, 10.3, 15, 22.7, 49, 50, 51.5, 120, 260 }.Select(TimeSpan.FromSeconds).ToArray();

        var requests = cuts.Zip(cuts.Skip(1)).SelectMany(c => replay.RequestsBetween(c.First, c.Second)).ToArray();
        var whole = replay.RequestsBetween(cuts[0], cuts[^1]);

        Assert.Equal(whole, requests);
        Assert.Equal(requests.Length, requests.Select(r => (r.Loop, r.Index)).Distinct().Count());
        Assert.Equal(
            SimulationInputs.AzureTrace.TokensBetween(replay.PositionAt(cuts[0]), replay.PositionAt(cuts[^1])),
            requests.Sum(r => r.Tokens));
    }

    [Fact]
    public void RequestsBetween_DuringASpike_FourTimesTheRequestsOfTheSameTimeOutside()
    {
        var replay = new TraceReplay(Steady(), 0, 0.5, Spikes, 10);

        var before = replay.RequestsBetween(TimeSpan.Zero, TimeSpan.FromSeconds(20));
        var during = replay.RequestsBetween(TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(40));

        Assert.Equal(10, before.Count);
        Assert.Equal(40, during.Count);
        Assert.Equal((0L, 10, 10.0), (during[0].Loop, during[0].Index, during[0].TraceSeconds));
    }
}
