using ControlPlane.NodeAgent.Heartbeats;

namespace ControlPlane.NodeAgent.Tests.Heartbeats;

public sealed class BackoffTests
{
    [Fact]
    public void NextDelay_WithoutJitter_DoublesUpToTheCap()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), jitter: () => 0);

        var delays = Enumerable.Range(0, 8).Select(_ => backoff.NextDelay().TotalSeconds).ToList();

        Assert.Equal([1, 2, 4, 8, 16, 30, 30, 30], delays);
        Assert.Equal(8, backoff.Failures);
    }

    [Theory]
    [InlineData(0.0, 4.0)]
    [InlineData(0.5, 3.0)]
    [InlineData(0.999, 2.002)]
    public void NextDelay_WithJitter_ShortensByUpToHalf(double jitter, double expectedSeconds)
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), () => jitter);
        backoff.NextDelay();
        backoff.NextDelay();

        var delay = backoff.NextDelay();

        Assert.Equal(expectedSeconds, delay.TotalSeconds, precision: 6);
    }

    [Fact]
    public void NextDelay_AfterReset_StartsOver()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), jitter: () => 0);
        backoff.NextDelay();
        backoff.NextDelay();

        backoff.Reset();

        Assert.Equal(0, backoff.Failures);
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.NextDelay());
    }

    [Fact]
    public void CappedDelay_FirstFailure_IsTheCap()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), jitter: () => 0);

        Assert.Equal(TimeSpan.FromSeconds(30), backoff.CappedDelay());
        Assert.Equal(1, backoff.Failures);
    }

    [Fact]
    public void NextDelay_ManyFailures_DoesNotOverflow()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), jitter: () => 0);

        for (var i = 0; i < 10_000; i++)
        {
            backoff.NextDelay();
        }

        Assert.Equal(TimeSpan.FromSeconds(30), backoff.NextDelay());
    }
}
