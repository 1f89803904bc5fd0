namespace ControlPlane.Simulator.Load;

/// <summary>Percentiles of a set of latencies, by the nearest-rank method (every value reported was measured).</summary>
internal sealed record LatencySummary(int Count, TimeSpan Mean, TimeSpan P50, TimeSpan P99, TimeSpan Max)
{
    public static LatencySummary From(IEnumerable<TimeSpan> latencies)
    {
        var sorted = latencies.Select(l => l.Ticks).Order().ToArray();
        if (sorted.Length == 0)
        {
            throw new ArgumentException("No latencies to summarise.", nameof(latencies));
        }

        return new LatencySummary(
            sorted.Length,
            TimeSpan.FromTicks((long)sorted.Average()),
            TimeSpan.FromTicks(NearestRank(sorted, 50)),
            TimeSpan.FromTicks(NearestRank(sorted, 99)),
            TimeSpan.FromTicks(sorted[^1]));
    }

    /// <summary>
    /// The smallest value such that at least <paramref name="percentile"/> % of the values are at most it:
    /// the value at rank ceil(p / 100 x n) (1-based) of the sorted values.
    /// </summary>
    /// <param name="sorted">The values, in ascending order; at least one.</param>
    /// <param name="percentile">Above 0, at most 100.</param>
    public static long NearestRank(IReadOnlyList<long> sorted, double percentile)
    {
        if (sorted.Count == 0)
        {
            throw new ArgumentException("No values.", nameof(sorted));
        }

        if (percentile is <= 0 or > 100 || double.IsNaN(percentile))
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "A percentile is above 0 and at most 100.");
        }

        // Rounded first, so that 0.57 x 100 = 57.000000000000007 is rank 57, not 58.
        var rank = (int)Math.Ceiling(Math.Round(percentile / 100 * sorted.Count, 9));
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }
}
