using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Metering;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Serialization;
using Orleans.Storage;

namespace ControlPlane.Grains.Metering;

/// <summary>
/// One customer-day of usage, with group commit (<see cref="GroupCommit{TChange, TResult}"/>): batches that arrive while
/// a write is in flight wait, and the next write takes all of them, so the database sees one write per group, not per
/// batch or event. A write (<see cref="IUsageBucketStore.CommitAsync"/>) carries the day's totals (small) and only the
/// ids this group counted, so it costs the same early and late in a busy day. A batch is answered only after the write
/// that holds it succeeded. A failed write reloads the stored totals and forgets the ids in memory (read again by the
/// next group that records), so nothing counted in memory can outlive a write that did not happen. Seals and
/// late-usage takes go through the same commit, so they are never applied while a write is in flight.
/// <para>
/// The ids counted are read only when a group records events: a contract that reads a quarter's days
/// (<see cref="GetAsync"/>) reads their totals, never their ids. A day stored the old way (one grain-state record,
/// <see cref="UsageBucketState"/>) is read from there until its first commit moves it to the store.
/// </para>
/// </summary>
[Reentrant]
public sealed partial class UsageBucketGrain(
    IUsageBucketStore store,
    Serializer<UsageBucketTotals> serializer,
    ILogger<UsageBucketGrain> logger) : Grain, IUsageBucketGrain
{
    /// <summary>The grain storage and state name buckets were kept under before <see cref="IUsageBucketStore"/>.</summary>
    internal const string LegacyStorageName = "store";
    internal const string LegacyStateName = "usage-bucket";

    private GroupCommit<Change, Answer>? _commit;
    private UsageBucketTotals _totals = new();

    // The stored version the totals were read at; null when the store holds nothing of this bucket yet.
    private int? _version;

    // The ids counted up to _version (and this group's); null until a group records events.
    private HashSet<Guid>? _seen;

    // Ids counted in an old grain-state record, not yet in the store: the first commit writes them.
    private byte[] _legacySeen = [];

    // The ids this group counted, packed: what its commit appends.
    private readonly ArrayBufferWriter<byte> _added = new();

    private GroupCommit<Change, Answer> Commit => _commit ??= new(Apply, WriteAsync, ReloadAsync, PrepareAsync);

    public override Task OnActivateAsync(CancellationToken cancellationToken) => LoadTotalsAsync();

    public async Task<RecordResult> RecordAsync(List<MeteredEvent> events) => (await Commit.SubmitAsync(new Record(events))).Recorded;

    public async Task<List<UsageAggregate>> SealAsync(string ledger) => (await Commit.SubmitAsync(new Seal(ledger))).Usage;

    public async Task<List<UsageAggregate>> TakeLateUsageAsync(string ledger, string invoiceId) =>
        (await Commit.SubmitAsync(new TakeLate(ledger, invoiceId))).Usage;

    public Task<BucketTotals> GetAsync(string ledger) => Task.FromResult(_totals.Of(ledger));

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
        if (!_totals.Ledgers.TryGetValue(ledger, out var day))
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
        var seen = _seen ?? throw new InvalidOperationException("The ids counted were not read before recording.");
        int accepted = 0, duplicates = 0;
        (string Model, Rate Rate, string Key)? last = null;
        foreach (var e in events)
        {
            var id = EventKey(e.EventId);
            if (!seen.Add(id))
            {
                duplicates++;
                continue;
            }

            accepted++;
            id.TryWriteBytes(_added.GetSpan(16));
            _added.Advance(16);
            var day = Day(e.Ledger);
            var target = day.Sealed ? day.Late : day.Counted;
            // A batch's events mostly share a model and rate: their key is formatted once.
            if (last is not { } same || !string.Equals(same.Model, e.Model, StringComparison.Ordinal) || same.Rate != e.ListRate)
            {
                last = (e.Model, e.ListRate, AggregateKey(e.Model, e.ListRate));
            }

            var key = last.Value.Key;
            var usage = new UsageAggregate(e.Model, e.ListRate, e.InputTokens, e.OutputTokens);
            target[key] = target.TryGetValue(key, out var sum) ? sum.Add(usage) : usage;
            if (e.DeploymentId is { } deploymentId)
            {
                day.ByDeployment ??= new(StringComparer.Ordinal);
                if (!day.ByDeployment.TryGetValue(deploymentId, out var ofDeployment))
                {
                    ofDeployment = new(StringComparer.Ordinal);
                    day.ByDeployment[deploymentId] = ofDeployment;
                }

                ofDeployment[key] = ofDeployment.TryGetValue(key, out var deploymentSum) ? deploymentSum.Add(usage) : usage;
            }
        }

        return new RecordResult(accepted, duplicates);
    }

    /// <summary>Reads the totals, from the store or else from an old grain-state record; the ids are read when needed.</summary>
    private async Task LoadTotalsAsync()
    {
        _seen = null;
        _added.Clear();
        if (await store.ReadTotalsAsync(GrainContext.GrainId) is { } stored)
        {
            _totals = serializer.Deserialize(stored.Totals) ?? throw new InvalidOperationException($"The stored totals of {GrainContext.GrainId} are empty.");
            _version = stored.Version;
            _legacySeen = [];
            return;
        }

        var legacy = new GrainState<UsageBucketState>(new UsageBucketState());
        await ServiceProvider.GetRequiredKeyedService<IGrainStorage>(LegacyStorageName)
            .ReadStateAsync(LegacyStateName, GrainContext.GrainId, legacy);
        var old = legacy.RecordExists ? legacy.State : null;
        _totals = new UsageBucketTotals { Ledgers = old?.Ledgers ?? new(StringComparer.Ordinal) };
        _version = null;
        _legacySeen = old?.SeenIds ?? [];
    }

    /// <summary>Before a group that records events: the ids counted so far, as stored at the version the totals were read at.</summary>
    private async Task PrepareAsync(IReadOnlyList<Change> changes)
    {
        _added.Clear();
        if (_seen is not null || !changes.Any(c => c is Record))
        {
            return;
        }

        var seen = new HashSet<Guid>();
        if (_version is { } version)
        {
            await store.ReadSeenAsync(GrainContext.GrainId, version, chunk => Unpack(chunk.Span, seen));
        }

        Unpack(_legacySeen, seen);
        _seen = seen;
    }

    private async Task WriteAsync()
    {
        var newSeen = _added.WrittenMemory;
        if (_version is null && _legacySeen.Length > 0)
        {
            // The first commit over an old record moves its ids too.
            newSeen = (byte[])[.. _legacySeen, .. _added.WrittenSpan];
        }

        _version = await store.CommitAsync(GrainContext.GrainId, _version, serializer.SerializeToArray(_totals), newSeen);
        _legacySeen = [];
        _added.Clear();
    }

    /// <summary>
    /// After a group that was not stored: the totals as stored, and the ids forgotten until the next group that records
    /// (a write that landed before it failed is read back with them). If even that read fails, the activation is dropped,
    /// and until then no commit can succeed: the next one starts from the store.
    /// </summary>
    private async Task ReloadAsync(Exception cause)
    {
        LogNotStored(logger, GrainContext.GrainId, cause);
        _seen = null;
        _added.Clear();
        try
        {
            await LoadTotalsAsync();
        }
        catch (Exception e)
        {
            LogReloadFailed(logger, GrainContext.GrainId, e);
            _version = -1;
            GrainContext.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationError, e, "The usage bucket could not be read back after a change that was not stored."));
        }
    }

    private static void Unpack(ReadOnlySpan<byte> packed, HashSet<Guid> seen)
    {
        for (var offset = 0; offset + 16 <= packed.Length; offset += 16)
        {
            seen.Add(new Guid(packed.Slice(offset, 16)));
        }
    }

    private LedgerDay Day(string ledger)
    {
        if (!_totals.Ledgers.TryGetValue(ledger, out var day))
        {
            day = new LedgerDay();
            _totals.Ledgers[ledger] = day;
        }

        return day;
    }

    internal static Guid EventKey(string eventId)
    {
        // Ids are at most 128 characters (validated at the gateway); longer ones take the heap.
        var length = Encoding.UTF8.GetMaxByteCount(eventId.Length);
        Span<byte> utf8 = length <= 1024 ? stackalloc byte[length] : new byte[length];
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..Encoding.UTF8.GetBytes(eventId, utf8)], hash);
        return new Guid(hash[..16]);
    }

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
