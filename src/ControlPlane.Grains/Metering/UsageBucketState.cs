using ControlPlane.Domain.Metering;

namespace ControlPlane.Grains.Metering;

/// <summary>
/// One ledger-day of usage: what was counted and the ids that were counted, in one record, so counting
/// an event and remembering it can never be written apart.
/// </summary>
[GenerateSerializer, Alias("usage-bucket-state")]
public sealed class UsageBucketState
{
    /// <summary>128-bit hashes of the event ids counted (16 bytes an event, whatever the id's length).</summary>
    [Id(0)] public HashSet<Guid> Seen { get; set; } = [];

    /// <summary>Token totals per model and list rate, counted before the day's quarter closed.</summary>
    [Id(1)] public Dictionary<string, UsageAggregate> Counted { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Set when the quarter closed: from then on events are late usage.</summary>
    [Id(2)] public bool Sealed { get; set; }

    /// <summary>Late usage not yet handed to an invoice.</summary>
    [Id(3)] public Dictionary<string, UsageAggregate> Late { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Late usage handed to each invoice, so a retried close gets the same answer.</summary>
    [Id(4)] public Dictionary<string, List<UsageAggregate>> BilledLate { get; set; } = new(StringComparer.Ordinal);
}
