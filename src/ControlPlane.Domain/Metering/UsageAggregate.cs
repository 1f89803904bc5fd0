namespace ControlPlane.Domain.Metering;

/// <summary>
/// Token totals of one model at one list rate. Usage is kept as token counts, never as money, so it is
/// priced once on the aggregate (and a quarter rounds to cents once) whatever the number of events.
/// </summary>
[GenerateSerializer, Alias("usage-aggregate")]
public sealed record UsageAggregate(
    [property: Id(0)] string Model,
    [property: Id(1)] Rate ListRate,
    [property: Id(2)] long InputTokens,
    [property: Id(3)] long OutputTokens)
{
    /// <summary>Whether <paramref name="other"/> counts the same model at the same rate (and so can be added).</summary>
    public bool SameKey(UsageAggregate other) =>
        string.Equals(Model, other.Model, StringComparison.Ordinal) && ListRate == other.ListRate;

    /// <summary>The sum of two aggregates of the same model and rate.</summary>
    /// <exception cref="ArgumentException">The model or the rate differ.</exception>
    /// <exception cref="OverflowException">A token total no longer fits a <see cref="long"/>.</exception>
    public UsageAggregate Add(UsageAggregate other)
    {
        if (!SameKey(other))
        {
            throw new ArgumentException(
                $"Cannot add usage of {other.Model} at {other.ListRate} to usage of {Model} at {ListRate}.", nameof(other));
        }

        return this with
        {
            InputTokens = checked(InputTokens + other.InputTokens),
            OutputTokens = checked(OutputTokens + other.OutputTokens),
        };
    }

    /// <summary>
    /// Aggregates merged per model and rate, in first-seen order: what a quarter stores however its usage
    /// arrived (one event at a time, per day, per batch).
    /// </summary>
    public static List<UsageAggregate> Merge(IEnumerable<UsageAggregate> usage)
    {
        var merged = new List<UsageAggregate>();
        foreach (var item in usage)
        {
            MergeInto(merged, item);
        }

        return merged;
    }

    /// <summary>Adds <paramref name="item"/> to the aggregate of its model and rate in <paramref name="into"/>, or appends it.</summary>
    public static void MergeInto(List<UsageAggregate> into, UsageAggregate item)
    {
        var index = into.FindIndex(a => a.SameKey(item));
        if (index < 0)
        {
            into.Add(item);
        }
        else
        {
            into[index] = into[index].Add(item);
        }
    }
}
