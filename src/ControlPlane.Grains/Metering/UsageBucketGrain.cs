using System.Security.Cryptography;
using System.Text;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Metering;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace ControlPlane.Grains.Metering;

/// <summary>
/// One customer-day of usage, with group commit: batches that arrive while a write is in flight wait, and
/// the next write takes all of them, so the database sees one write per group, not per batch or event.
/// A batch is answered only after the write that holds it succeeded. A failed write reloads the stored
/// state, so nothing counted in memory can outlive a write that did not happen.
/// </summary>
[Reentrant]
public sealed partial class UsageBucketGrain(
    [PersistentState("usage-bucket", "store")] IPersistentState<UsageBucketState> state,
    ILogger<UsageBucketGrain> logger) : Grain, IUsageBucketGrain
{
    private readonly SemaphoreSlim _writer = new(1, 1);
    private List<PendingBatch> _waiting = [];
    private HashSet<Guid> _seen = [];

    private UsageBucketState S => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _seen = Unpack(S.SeenIds);
        return Task.CompletedTask;
    }

    public async Task<RecordResult> RecordAsync(List<MeteredEvent> events)
    {
        var batch = new PendingBatch(events);
        _waiting.Add(batch);
        await _writer.WaitAsync();
        try
        {
            // An earlier writer may have taken this batch into its group already.
            if (!batch.Done.Task.IsCompleted)
            {
                await CommitGroupAsync();
            }
        }
        finally
        {
            _writer.Release();
        }

        return await batch.Done.Task;
    }

    public Task<List<UsageAggregate>> SealAsync(string ledger) => UnderWriterAsync(async () =>
    {
        var day = Day(ledger);
        if (!day.Sealed)
        {
            day.Sealed = true;
            await WriteOrReloadAsync();
        }

        return Day(ledger).Counted.Values.ToList();
    });

    public Task<List<UsageAggregate>> TakeLateUsageAsync(string ledger, string invoiceId) => UnderWriterAsync(async () =>
    {
        if (!S.Ledgers.TryGetValue(ledger, out var day))
        {
            return [];
        }

        if (day.BilledLate.TryGetValue(invoiceId, out var billed))
        {
            return billed;
        }

        var late = day.Late.Values.ToList();
        if (late.Count == 0)
        {
            return late;
        }

        day.BilledLate[invoiceId] = late;
        day.Late = new(StringComparer.Ordinal);
        await WriteOrReloadAsync();
        return late;
    });

    public Task<BucketTotals> GetAsync(string ledger) =>
        Task.FromResult(S.Ledgers.TryGetValue(ledger, out var day)
            ? new BucketTotals(day.Sealed, day.Counted.Values.ToList(), day.Late.Values.ToList())
            : new BucketTotals(false, [], []));

    private async Task CommitGroupAsync()
    {
        var group = _waiting;
        _waiting = [];
        var results = new RecordResult[group.Count];
        for (var i = 0; i < group.Count; i++)
        {
            results[i] = Apply(group[i].Events);
        }

        try
        {
            if (results.Any(r => r.Accepted > 0))
            {
                await WriteOrReloadAsync();
            }
        }
        catch (Exception e)
        {
            foreach (var batch in group)
            {
                batch.Done.TrySetException(e);
            }

            return;
        }

        for (var i = 0; i < group.Count; i++)
        {
            group[i].Done.TrySetResult(results[i]);
        }

        if (group.Count > 1)
        {
            LogGroupCommit(group.Count, results.Sum(r => r.Accepted));
        }
    }

    private RecordResult Apply(List<MeteredEvent> events)
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

    private async Task WriteOrReloadAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception e)
        {
            // Memory now holds events the database does not: forget them, so a retry counts them again.
            LogWriteFailed(e);
            try
            {
                await state.ReadStateAsync();
                _seen = Unpack(S.SeenIds);
            }
            catch (Exception)
            {
                DeactivateOnIdle();
            }

            throw;
        }
    }

    private async Task<T> UnderWriterAsync<T>(Func<Task<T>> action)
    {
        await _writer.WaitAsync();
        try
        {
            return await action();
        }
        finally
        {
            _writer.Release();
        }
    }

    internal static Guid EventKey(string eventId) =>
        new(SHA256.HashData(Encoding.UTF8.GetBytes(eventId)).AsSpan(0, 16));

    // Equal rates must share a key whatever their decimal scale (1.0 and 1.00).
    internal static string AggregateKey(string model, Rate rate) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{model}|{rate.InputUsdPer1M:0.############################}|{rate.OutputUsdPer1M:0.############################}");

    private sealed record PendingBatch(List<MeteredEvent> Events)
    {
        public TaskCompletionSource<RecordResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Group commit of {Batches} batches, {Accepted} new events")]
    private partial void LogGroupCommit(int batches, int accepted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Usage bucket write failed; reloading the stored state")]
    private partial void LogWriteFailed(Exception exception);
}
