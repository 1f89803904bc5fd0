namespace ControlPlane.Domain.Webhooks;

/// <summary>
/// When a failed delivery is tried again: exponential back-off from <see cref="Initial"/>, doubling per failed attempt, capped
/// at <see cref="Max"/>; no attempt starts later than <see cref="GiveUpAfter"/> after the event was published.
/// </summary>
/// <param name="Initial">The wait after the first failed attempt.</param>
/// <param name="Max">The longest wait between two attempts.</param>
/// <param name="GiveUpAfter">How long after publication a delivery keeps being retried.</param>
public sealed record RetrySchedule(TimeSpan Initial, TimeSpan Max, TimeSpan GiveUpAfter)
{
    /// <summary>The wait after <paramref name="failedAttempts"/> failed attempts (1 or more).</summary>
    public TimeSpan Delay(int failedAttempts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempts, 1);
        var delay = Initial;
        for (var i = 1; i < failedAttempts && delay < Max; i++)
        {
            delay += delay;
        }

        return delay < Max ? delay : Max;
    }

    /// <summary>
    /// The next attempt after <paramref name="failedAttempts"/> failed ones, the last at <paramref name="lastAttemptAt"/>, of
    /// an event published at <paramref name="publishedAt"/>; null when the delivery is given up.
    /// </summary>
    public DateTimeOffset? NextAttempt(DateTimeOffset publishedAt, DateTimeOffset lastAttemptAt, int failedAttempts)
    {
        var next = lastAttemptAt + Delay(failedAttempts);
        return next <= publishedAt + GiveUpAfter ? next : null;
    }
}
