using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Metering;

namespace ControlPlane.Grains.Metering;

/// <summary>
/// What a usage bucket commits each time (<see cref="IUsageBucketStore"/>): the totals of each ledger of the day. The
/// event ids counted are stored apart, append-only, so this record stays the same size however many events the day holds.
/// </summary>
[GenerateSerializer, Alias("usage-bucket-totals")]
public sealed class UsageBucketTotals
{
    /// <summary>The usage of each ledger (contract or pay-as-you-go) of the day.</summary>
    [Id(0)] public Dictionary<string, LedgerDay> Ledgers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>What a reader of one ledger's day sees (<see cref="IUsageBucketGrain.GetAsync"/>).</summary>
    public BucketTotals Of(string ledger) =>
        Ledgers.TryGetValue(ledger, out var day)
            ? new BucketTotals(
                day.Sealed, day.Counted.Values.ToList(), day.Late.Values.ToList(),
                day.ByDeployment?.ToDictionary(d => d.Key, d => d.Value.Values.ToList(), StringComparer.Ordinal),
                day.BilledLate.Count == 0 ? null : day.BilledLate.Values.SelectMany(u => u).ToList())
            : new BucketTotals(false, [], []);
}

/// <summary>
/// How a usage bucket was stored before <see cref="IUsageBucketStore"/>: one grain-state record (state name
/// <c>usage-bucket</c>) holding the ids counted and the totals, rewritten whole by every commit. Kept only to read
/// such records: a bucket that finds no totals in its store takes this record's ids and totals, and its first commit
/// moves them to the store. The stored payload names this type and its properties: never rename them.
/// </summary>
[GenerateSerializer, Alias("usage-bucket-state")]
public sealed class UsageBucketState
{
    // Id 0 held the seen ids as a HashSet<Guid> (39 bytes an event once serialized); retired for Id 2.

    /// <summary>128-bit hashes of the event ids counted, for every ledger, back to back: 16 bytes an event.</summary>
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

    /// <summary>Token totals per deployment, then per model and list rate, counted and late alike (SLA credits).</summary>
    [Id(4)] public Dictionary<string, Dictionary<string, UsageAggregate>>? ByDeployment { get; set; }
}
