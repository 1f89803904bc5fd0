using ControlPlane.Simulator.Load;

namespace ControlPlane.Simulator.Tests.Load;

public sealed class LatencySummaryTests
{
    private static readonly long[] OneToHundred = Enumerable.Range(1, 100).Select(i => (long)i).ToArray();

    [Theory]
    [InlineData(50, 50)]
    [InlineData(99, 99)]
    [InlineData(100, 100)]
    [InlineData(1, 1)]
    [InlineData(0.5, 1)]
    [InlineData(99.5, 100)]
    [InlineData(57, 57)]
    public void NearestRank_OneToHundred_IsThePercentile(double percentile, long expected) =>
        Assert.Equal(expected, LatencySummary.NearestRank(OneToHundred, percentile));

    [Theory]
    [InlineData(50, 30)]
    [InlineData(60, 30)]
    [InlineData(61, 40)]
    [InlineData(99, 50)]
    [InlineData(20, 10)]
    [InlineData(21, 20)]
    public void NearestRank_FewValues_IsAValueThatWasMeasured(double percentile, long expected) =>
        Assert.Equal(expected, LatencySummary.NearestRank([10, 20, 30, 40, 50], percentile));

    [Fact]
    public void NearestRank_OneValue_IsThatValueForEveryPercentile()
    {
        Assert.Equal(7, LatencySummary.NearestRank([7], 1));
        Assert.Equal(7, LatencySummary.NearestRank([7], 50));
        Assert.Equal(7, LatencySummary.NearestRank([7], 100));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(100.1)]
    [InlineData(double.NaN)]
    public void NearestRank_PercentileOutOfRange_Throws(double percentile) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => LatencySummary.NearestRank(OneToHundred, percentile));

    [Fact]
    public void NearestRank_NoValues_Throws() =>
        Assert.Throws<ArgumentException>(() => LatencySummary.NearestRank([], 50));

    [Fact]
    public void From_UnsortedLatencies_SortsThemFirst()
    {
        var latencies = new[] { 40, 10, 1000, 30, 20, 50, 60, 70, 80, 90 }.Select(ms => TimeSpan.FromMilliseconds(ms));

        var summary = LatencySummary.From(latencies);

        Assert.Equal(10, summary.Count);
        Assert.Equal(TimeSpan.FromMilliseconds(50), summary.P50);
        Assert.Equal(TimeSpan.FromMilliseconds(1000), summary.P99);
        Assert.Equal(TimeSpan.FromMilliseconds(1000), summary.Max);
        Assert.Equal(TimeSpan.FromMilliseconds(145), summary.Mean);
    }

    [Fact]
    public void From_NoLatencies_Throws() =>
        Assert.Throws<ArgumentException>(() => LatencySummary.From([]));
}
