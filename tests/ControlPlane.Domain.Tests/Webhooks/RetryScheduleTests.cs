using ControlPlane.Domain.Webhooks;
using CsCheck;

namespace ControlPlane.Domain.Tests.Webhooks;

public sealed class RetryScheduleTests
{
    private static readonly RetrySchedule Default = new(TimeSpan.FromSeconds(10), TimeSpan.FromHours(1), TimeSpan.FromHours(72));
    private static readonly DateTimeOffset Published = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 20)]
    [InlineData(3, 40)]
    [InlineData(9, 2560)]
    [InlineData(10, 3600)]
    [InlineData(1000, 3600)]
    public void Delay_DoublesPerFailureUpToTheCap(int failures, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), Default.Delay(failures));
    }

    [Fact]
    public void NextAttempt_PastTheRetryWindow_IsNone()
    {
        var schedule = new RetrySchedule(TimeSpan.FromSeconds(10), TimeSpan.FromHours(1), TimeSpan.FromMinutes(1));

        Assert.Equal(Published.AddSeconds(60), schedule.NextAttempt(Published, Published.AddSeconds(50), 1));
        Assert.Null(schedule.NextAttempt(Published, Published.AddSeconds(51), 1));
    }

    [Fact]
    public void Delay_AnySchedule_NeverShrinksAndStaysWithinItsBounds()
    {
        Gen.Select(Gen.Int[1, 3600], Gen.Int[1, 86_400], Gen.Int[1, 500])
            .Sample((initial, max, failures) =>
            {
                var schedule = new RetrySchedule(TimeSpan.FromSeconds(initial), TimeSpan.FromSeconds(Math.Max(initial, max)), TimeSpan.FromDays(3));
                var delay = schedule.Delay(failures);
                Assert.InRange(delay, schedule.Initial, schedule.Max);
                Assert.True(schedule.Delay(failures + 1) >= delay);
                Assert.True(schedule.Delay(failures + 1) <= delay + delay);
            });
    }
}
