using System.Security.Cryptography;
using System.Text;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Metering;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace ControlPlane.Grains.Metering;

/// <summary>
/// One customer-day of usage, with group commit (<see cref="GroupCommit{TChange, TResult}"/>): batches that arrive while
/// a write is in flight wait, and the next write takes all of them, so the database sees one write per group, not per
/// batch or event. A batch is answered only after the write that holds it succeeded. A failed write reloads the stored
/// state, so nothing counted in memory can outlive a write that did not happen. Seals and late-usage takes go through
/// the same commit, so they are never applied while a write is in flight.
/// </summary>
[Reentrant]
public sealed class UsageBucketGrain(
    [PersistentState("usage-bucket", "store")] IPersistentState<UsageBucketState> state,
    ILogger<UsageBucketGrain> logger) : Grain, IUsageBucketGrain
{
    private GroupCommit<Change, Answer>? _commit;
    private HashSet<Guid> _seen = [];

    private UsageBucketState S => state.State;

    private GroupCommit<Change, Answer> Commit => _commit ??= new(
        Apply, () => state.WriteStateAsync(), e => state.ReloadAsync(this, logger, e, () => _seen = Unpack(S.SeenIds)));

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _seen = Unpack(S.SeenIds);
        return Task.CompletedTask;
    }

    public async Task<RecordResult> RecordAsync(List<MeteredEvent> events) => (await Commit.SubmitAsync(new Record(events))).Recorded;

    public async Task<List<UsageAggregate>> SealAsync(string ledger) => (await Commit.SubmitAsync(new Seal(ledger))).Usage;

    public async Task<List<UsageAggregate>> TakeLateUsageAsync(string ledger, string invoiceId) =>
        (await Commit.SubmitAsync(new TakeLate(ledger, invoiceId))).Usage;

    public Task<BucketTotals> GetAsync(string ledger) =>
        Task.FromResult(S.Ledgers.TryGetValue(ledger, out var day)
            ? new BucketTotals(day.Sealed, day.Counted.Values.ToList(), day.Late.Values.ToList())
            : new BucketTotals(false, [], []));

    private (Answer, bool Changed) Apply(Change change)
    {
        switch (change)
        {
            case Record record:
                var recorded = Count(record.Events);
                return (Answer.Of(recorded), recorded.Accepted > 0);

            case Seal seal:
                var day = Day(seal.Ledger);
                var sealing = !day.Sealed;
                day.Sealed = true;
                return (Answer.Of(day.Counted.Values.ToList()), sealing);

            case TakeLate take:
                return TakeLateUsage(take.Ledger, take.InvoiceId);

            default:
                throw new ArgumentOutOfRangeException(nameof(change), change, "Unknown change.");
        }
    }

    /// <summary>Late usage goes to one invoice id once; a retry for that id gets the same answer.</summary>
    private (Answer, bool Changed) TakeLateUsage(string ledger, string invoiceId)
    {
        if (!S.Ledgers.TryGetValue(ledger, out var day))
        {
            return (Answer.Of([]), false);
        }

        if (day.BilledLate.TryGetValue(invoiceId, out var billed))
        {
            return (Answer.Of(billed), false);
        }

        var late = day.Late.Values.ToList();
        if (late.Count == 0)
        {
            return (Answer.Of(late), false);
        }

        day.BilledLate[invoiceId] = late;
        day.Late = new(StringComparer.Ordinal);
        return (Answer.Of(late), true);
    }

    private RecordResult Count(List<MeteredEvent> events)
    {
        int accepted = 0, duplicates = 0;
        var added = new List<Guid>();
        foreach (var e in events)
        {
            var id = EventKey(e.EventId);
            if (!_seen.Add(id))
            {
                duplicates++;
                continue;
            }

            accepted++;
            added.Add(id);
            var day = Day(e.Ledger);
            var target = day.Sealed ? day.Late : day.Counted;
            var key = AggregateKey(e.Model, e.ListRate);
            var usage = new UsageAggregate(e.Model, e.ListRate, e.InputTokens, e.OutputTokens);
            target[key] = target.TryGetValue(key, out var sum) ? sum.Add(usage) : usage;
        }

        if (added.Count > 0)
        {
            S.SeenIds = Append(S.SeenIds, added);
        }

        return new RecordResult(accepted, duplicates);
    }

    private static byte[] Append(byte[] packed, List<Guid> ids)
    {
        var result = new byte[packed.Length + ids.Count * 16];
        packed.CopyTo(result, 0);
        for (var i = 0; i < ids.Count; i++)
        {
            ids[i].TryWriteBytes(result.AsSpan(packed.Length + i * 16, 16));
        }

        return result;
    }

    private static HashSet<Guid> Unpack(byte[] packed)
    {
        var seen = new HashSet<Guid>(packed.Length / 16);
        for (var offset = 0; offset + 16 <= packed.Length; offset += 16)
        {
            seen.Add(new Guid(packed.AsSpan(offset, 16)));
        }

        return seen;
    }

    private LedgerDay Day(string ledger)
    {
        if (!S.Ledgers.TryGetValue(ledger, out var day))
        {
            day = new LedgerDay();
            S.Ledgers[ledger] = day;
        }

        return day;
    }

    internal static Guid EventKey(string eventId) =>
        new(SHA256.HashData(Encoding.UTF8.GetBytes(eventId)).AsSpan(0, 16));

    // Equal rates must share a key whatever their decimal scale (1.0 and 1.00).
    internal static string AggregateKey(string model, Rate rate) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{model}|{rate.InputUsdPer1M:0.############################}|{rate.OutputUsdPer1M:0.############################}");

    private abstract record Change;

    private sealed record Record(List<MeteredEvent> Events) : Change;

    private sealed record Seal(string Ledger) : Change;

    private sealed record TakeLate(string Ledger, string InvoiceId) : Change;

    /// <summary>A record's counts, or a seal's or late-usage take's usage.</summary>
    private readonly record struct Answer(RecordResult Recorded, List<UsageAggregate> Usage)
    {
        private static readonly RecordResult NothingRecorded = new(0, 0);

        public static Answer Of(RecordResult recorded) => new(recorded, []);

        public static Answer Of(List<UsageAggregate> usage) => new(NothingRecorded, usage);
    }
}
