namespace ControlPlane.Domain.Slas;

/// <summary>A whole UTC minute's verdict: whether ready capacity covered due demand through all of it.</summary>
[GenerateSerializer, Immutable, Alias("slo-minute-verdict")]
public sealed record SloMinuteVerdict(
    [property: Id(0)] DateTimeOffset Minute,
    [property: Id(1)] bool Met);

/// <summary>What a dedicated deployment's SLO measures at one instant (DESIGN.md, "Measures").</summary>
public static class SloMinute
{
    /// <summary>
    /// Whether ready capacity covers demand up to the reservation: the demand due under the SLO is the demand capped at
    /// <paramref name="reservedReplicas"/> replicas' capacity (burst above the reservation is best effort), and it is
    /// covered when the ready replicas' capacity is at least that.
    /// </summary>
    public static bool Covered(decimal demandTokensPerSecond, int readyReplicas, int reservedReplicas, decimal tokensPerSecondPerReplica)
    {
        var due = Math.Min(Math.Max(0m, demandTokensPerSecond), reservedReplicas * tokensPerSecondPerReplica);
        return readyReplicas * tokensPerSecondPerReplica >= due;
    }

    /// <summary>The start of the UTC minute holding <paramref name="at"/>.</summary>
    public static DateTimeOffset Floor(DateTimeOffset at) =>
        new(at.UtcTicks - at.UtcTicks % TimeSpan.TicksPerMinute, TimeSpan.Zero);

    /// <summary>The first minute start at or after <paramref name="at"/>.</summary>
    public static DateTimeOffset Ceiling(DateTimeOffset at) =>
        Floor(at) == at ? at.ToUniversalTime() : Floor(at).AddMinutes(1);
}

/// <summary>
/// Turns samples of "covered or not" into verdicts of whole minutes, for one deployment. A sample's state holds until
/// the next sample if that comes within <see cref="MaxGap"/>; a longer gap (nobody measured: the control plane was
/// down, or nothing told it the demand) is unobserved time. A minute gets a verdict only when all of it was observed
/// (met when covered throughout); a minute partly or not at all observed gets none, and the roll-up counts it as
/// not met (<see cref="SloBook"/>). Pure and not thread-safe: its owner feeds it samples in time order.
/// </summary>
public sealed class SloMinuteTracker(TimeSpan maxGap)
{
    private (DateTimeOffset At, bool Covered)? _last;
    private TimeSpan _observed;
    private bool _missed;

    public TimeSpan MaxGap { get; } = maxGap > TimeSpan.Zero ? maxGap : throw new ArgumentOutOfRangeException(nameof(maxGap));

    /// <summary>
    /// A sample at <paramref name="at"/>; returns the verdicts of the minutes it completed, oldest first. A sample older
    /// than the last is ignored (time never runs back over a verdict given).
    /// </summary>
    public IReadOnlyList<SloMinuteVerdict> Observe(DateTimeOffset at, bool covered)
    {
        if (_last is not { } last)
        {
            _last = (at, covered);
            return [];
        }

        if (at < last.At)
        {
            return [];
        }

        var verdicts = new List<SloMinuteVerdict>();
        var observed = at - last.At <= MaxGap;
        var cursor = last.At;
        while (cursor < at)
        {
            var minute = SloMinute.Floor(cursor);
            var minuteEnd = minute.AddMinutes(1);
            var segmentEnd = minuteEnd < at ? minuteEnd : at;
            if (observed)
            {
                _observed += segmentEnd - cursor;
                _missed |= !last.Covered;
            }

            if (segmentEnd == minuteEnd)
            {
                if (_observed == TimeSpan.FromMinutes(1))
                {
                    verdicts.Add(new SloMinuteVerdict(minute, !_missed));
                }

                _observed = TimeSpan.Zero;
                _missed = false;
            }

            cursor = segmentEnd;
        }

        _last = (at, covered);
        return verdicts;
    }
}
