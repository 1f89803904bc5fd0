using ControlPlane.Domain.Commits;
using CsCheck;

namespace ControlPlane.Domain.Tests.Commits;

public sealed class CommitThresholdsTests
{
    [Theory]
    [InlineData(10_000, 4_999, "")]
    [InlineData(10_000, 5_000, "50")]
    [InlineData(10_000, 7_999, "50")]
    [InlineData(10_000, 8_000, "50,80")]
    [InlineData(10_000, 9_999, "50,80")]
    [InlineData(10_000, 10_000, "50,80,100")]
    [InlineData(10_000, 250_000, "50,80,100")]
    // 0.01 USD available: half a cent is never reached by whole cents below 1.
    [InlineData(1, 0, "")]
    [InlineData(1, 1, "50,80,100")]
    // 333.33 available: 50% is 166.665, so 166.66 is under and 166.67 over.
    [InlineData(33_333, 16_666, "")]
    [InlineData(33_333, 16_667, "50")]
    public void NewlyReached_NothingAnnounced_IsEveryThresholdAtOrUnderTheUsage(long available, long usage, string expected)
    {
        Assert.Equal(expected, string.Join(",", CommitThresholds.NewlyReached(available, usage, [])));
    }

    [Fact]
    public void NewlyReached_SomeAnnounced_LeavesThemOut()
    {
        Assert.Equal([100], CommitThresholds.NewlyReached(10_000, 10_000, [50, 80]));
        Assert.Empty(CommitThresholds.NewlyReached(10_000, 10_000, [50, 80, 100]));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, 100)]
    [InlineData(10_000, 0)]
    public void NewlyReached_NothingAvailableOrNothingUsed_IsNone(long available, long usage)
    {
        Assert.Empty(CommitThresholds.NewlyReached(available, usage, []));
    }

    [Fact]
    public void NewlyReached_AnyUsageGrowth_AnnouncesEachThresholdOnceAndExactlyThoseReached()
    {
        // Usage only grows within a quarter; the available balance may grow too (a true-up). Whatever the steps, each
        // threshold is announced at most once, and at the end exactly the thresholds the final usage reaches... or that an
        // earlier, smaller balance had reached.
        Gen.Select(Gen.Long[1, 10_000_000], Gen.Select(Gen.Long[0, 2_000_000], Gen.Long[0, 1_000_000]).Array[1, 30])
            .Sample((available, steps) =>
            {
                var announced = new List<int>();
                long usage = 0;
                var balance = available;
                foreach (var (used, raise) in steps)
                {
                    usage += used;
                    balance += raise;
                    var reached = CommitThresholds.NewlyReached(balance, usage, announced);
                    Assert.Equal(reached.Order(), reached);
                    Assert.DoesNotContain(reached, announced.Contains);
                    announced.AddRange(reached);
                }

                Assert.Equal(announced.Distinct().Count(), announced.Count);
                foreach (var percent in CommitThresholds.Percents)
                {
                    if ((decimal)usage * 100 >= (decimal)balance * percent)
                    {
                        Assert.Contains(percent, announced);
                    }
                }
            });
    }
}
