using ControlPlane.Domain.Metering;

namespace ControlPlane.Grains.Metering;

/// <summary>
/// One customer-day of usage: the ids counted and what they counted for each ledger, in one record, so
/// counting an event and remembering it can never be written apart.
/// </summary>
[GenerateSerializer, Alias("usage-bucket-state")]
public sealed class UsageBucketState
{
    // Id 0 held the seen ids as a HashSet<Guid> (39 bytes an event once serialized); retired for Id 2.

    /// <summary>
    /// 128-bit hashes of the event ids counted, for every ledger, back to back: 16 bytes an event,
    /// whatever the id's length. The grain keeps a hash set of them in memory.
    /// </summary>
    [Id(2)] public byte[] SeenIds { get; set; } = [];

    /// <summary>The usage of each ledger (contract or pay-as-you-go) of the day.</summary>
    [Id(1)] public Dictionary<string, LedgerDay> Ledgers { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One ledger's usage of the day.</summary>
[GenerateSerializer, Alias("ledger-day")]
public sealed class LedgerDay
{
    /// <summary>Token totals per model and list rate, counted before the day's quarter closed.</summary>
    [Id(0)] public Dictionary<string, UsageAggregate> Counted { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Set when the quarter closed: from then on events are late usage.</summary>
    [Id(1)] public bool Sealed { get; set; }

    /// <summary>Late usage not yet handed to an invoice.</summary>
    [Id(2)] public Dictionary<string, UsageAggregate> Late { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Late usage handed to each invoice, so a retried close gets the same answer.</summary>
    [Id(3)] public Dictionary<string, List<UsageAggregate>> BilledLate { get; set; } = new(StringComparer.Ordinal);
}
