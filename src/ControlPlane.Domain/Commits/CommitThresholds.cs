namespace ControlPlane.Domain.Commits;

/// <summary>
/// The commit alerts: a quarter's usage reaching 50%, 80% and 100% of what it has available (commit plus rollover in).
/// Each threshold is announced once per quarter; the caller remembers which were announced.
/// </summary>
public static class CommitThresholds
{
    /// <summary>The thresholds, in percent of the quarter's available balance, lowest first.</summary>
    public static readonly IReadOnlyList<int> Percents = [50, 80, 100];

    /// <summary>
    /// The thresholds <paramref name="usageCents"/> has reached against <paramref name="availableCents"/> that are not in
    /// <paramref name="announced"/>, lowest first. Exact: usage reaches p% when usage x 100 >= available x p. A quarter
    /// with nothing available (no commit, no rollover) has no thresholds.
    /// </summary>
    public static IReadOnlyList<int> NewlyReached(long availableCents, long usageCents, IReadOnlyCollection<int> announced)
    {
        ArgumentNullException.ThrowIfNull(announced);
        if (availableCents <= 0 || usageCents <= 0)
        {
            return [];
        }

        var reached = new List<int>();
        foreach (var percent in Percents)
        {
            // Decimal: cents up to 1e14 times 100 stays exact.
            if ((decimal)usageCents * 100 >= (decimal)availableCents * percent && !announced.Contains(percent))
            {
                reached.Add(percent);
            }
        }

        return reached;
    }
}
