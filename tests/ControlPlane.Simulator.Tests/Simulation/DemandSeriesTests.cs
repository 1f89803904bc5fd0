using ControlPlane.Simulator.Simulation;

namespace ControlPlane.Simulator.Tests.Simulation;

public sealed class DemandSeriesTests
{
    /// <summary>A request every second for an hour: 100 tokens each in the first half, 300 in the second.</summary>
    private static Trace HalfAndHalf() =>
        Trace.FromRequests("steps", Enumerable.Range(0, 3_600).Select(s => ((double)s, s < 1_800 ? 100L : 300L)));

    [Fact]
    public void Build_Stretch24_PlaysAnHourOfTraceOverADayAtTheTracesRateTimesTheScale()
    {
        var demand = DemandSeries.Build(HalfAndHalf(), new TrafficMapping(null, RateScale: 2, Stretch: 24, ShiftHours: 0, SmoothingSeconds: 60), steps: 24, stepSeconds: 3_600);

        // Each simulated hour is 150 trace seconds: the first half of the day sees the 100 tokens/s half, doubled.
        Assert.Equal([.. Enumerable.Repeat(200.0, 12), .. Enumerable.Repeat(600.0, 12)], demand);
    }

    [Fact]
    public void Build_ShiftedTwelveHours_StartsAtTheTracesSecondHalf()
    {
        var demand = DemandSeries.Build(HalfAndHalf(), new TrafficMapping(null, RateScale: 2, Stretch: 24, ShiftHours: 12, SmoothingSeconds: 60), steps: 24, stepSeconds: 3_600);

        Assert.Equal([.. Enumerable.Repeat(600.0, 12), .. Enumerable.Repeat(200.0, 12)], demand);
    }

    [Fact]
    public void Build_RealTimeForThreeHours_LoopsTheHourAndAveragesOverTheStep()
    {
        var demand = DemandSeries.Build(HalfAndHalf(), new TrafficMapping(null, RateScale: 1, Stretch: 1, ShiftHours: 0, SmoothingSeconds: 60), steps: 3, stepSeconds: 3_600);

        Assert.Equal([200.0, 200.0, 200.0], demand);
    }

    [Fact]
    public void Build_SmoothingLongerThanTheStep_AveragesOverTheSmoothingWindow()
    {
        // One-minute steps in real time, each averaged over the 600 trace seconds around its middle.
        var demand = DemandSeries.Build(HalfAndHalf(), new TrafficMapping(null, RateScale: 1, Stretch: 1, ShiftHours: 0, SmoothingSeconds: 600), steps: 60, stepSeconds: 60);

        Assert.Equal(100.0, demand[5]);
        Assert.Equal((330 * 100.0 + 270 * 300.0) / 600, demand[29]);
        Assert.Equal((270 * 100.0 + 330 * 300.0) / 600, demand[30]);
        Assert.Equal(300.0, demand[40]);

        // The first window reaches back into the end of the previous loop.
        Assert.Equal((270 * 300.0 + 330 * 100.0) / 600, demand[0]);
    }
}
