using ControlPlane.NodeAgent.Heartbeats;

namespace ControlPlane.NodeAgent.Tests.Heartbeats;

public sealed class BackoffTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    [Fact]
    public void NextDelay_WithoutJitter_DoublesFromATenthOfTheIntervalUpToIt()
    {
        var backoff = new Backoff(jitter: () => 0);

        var delays = Enumerable.Range(0, 7).Select(_ => backoff.NextDelay(Interval).TotalSeconds).ToList();

        Assert.Equal([0.5, 1, 2, 4, 5, 5, 5], delays);
        Assert.Equal(7, backoff.Failures);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(30)]
    [InlineData(300)]
    public void NextDelay_AfterAMissedHeartbeat_FourAttemptsFitTheSuspectWindow(int intervalSeconds)
    {
        // The node turns suspect after two intervals of silence: the missed heartbeat came one interval after the
        // last one taken, and three retries after it must all be sent before the second interval ends.
        var interval = TimeSpan.FromSeconds(intervalSeconds);
        var backoff = new Backoff(jitter: () => 0);

        var retries = Enumerable.Range(0, 3).Select(_ => backoff.NextDelay(interval)).Aggregate(TimeSpan.Zero, (sum, d) => sum + d);

        Assert.True(interval + retries < 2 * interval, $"{interval} + {retries} is not within the suspect window");
    }

    [Fact]
    public void NextDelay_SeveralServers_PausesBrieflyUntilEachFailedThenBacksOffPerRound()
    {
        var backoff = new Backoff(jitter: () => 0);

        var delays = Enumerable.Range(0, 8).Select(_ => backoff.NextDelay(Interval, servers: 2).TotalSeconds).ToList();

        Assert.Equal([0.1, 0.5, 0.1, 1, 0.1, 2, 0.1, 4], delays);
    }

    [Theory]
    [InlineData(0.0, 2.0)]
    [InlineData(0.5, 1.5)]
    [InlineData(0.999, 1.001)]
    public void NextDelay_WithJitter_ShortensByUpToHalf(double jitter, double expectedSeconds)
    {
        var backoff = new Backoff(() => jitter);
        backoff.NextDelay(Interval);
        backoff.NextDelay(Interval);

        var delay = backoff.NextDelay(Interval);

        Assert.Equal(expectedSeconds, delay.TotalSeconds, precision: 6);
    }

    [Fact]
    public void NextDelay_AfterReset_StartsOver()
    {
        var backoff = new Backoff(jitter: () => 0);
        backoff.NextDelay(Interval);
        backoff.NextDelay(Interval);

        backoff.Reset();

        Assert.Equal(0, backoff.Failures);
        Assert.Equal(TimeSpan.FromSeconds(0.5), backoff.NextDelay(Interval));
    }

    [Fact]
    public void NextDelay_ShortInterval_NeverBelowATenthOfASecond()
    {
        var backoff = new Backoff(jitter: () => 0);

        Assert.Equal(TimeSpan.FromMilliseconds(100), backoff.NextDelay(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public void SlowDelay_FirstFailure_IsThirtySeconds()
    {
        var backoff = new Backoff(jitter: () => 0);

        Assert.Equal(TimeSpan.FromSeconds(30), backoff.SlowDelay());
        Assert.Equal(1, backoff.Failures);
    }

    [Fact]
    public void NextDelay_ManyFailures_DoesNotOverflow()
    {
        var backoff = new Backoff(jitter: () => 0);

        for (var i = 0; i < 10_000; i++)
        {
            backoff.NextDelay(Interval);
        }

        Assert.Equal(Interval, backoff.NextDelay(Interval));
    }
}
