using System.Globalization;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Webhooks;
using ControlPlane.Domain.Webhooks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grains.Webhooks;

/// <summary>
/// A customer's webhooks and durable outbox. A publish is answered once its deliveries are stored; a grain timer then
/// posts what is due and stores each outcome, and a durable reminder, registered while deliveries are open, brings the
/// outbox back after a restart (its activation schedules the timer again). A receiver can get an event more than once (a
/// post that landed before a failed write is posted again): it deduplicates by the event id.
/// </summary>
public sealed partial class WebhookGrain(
    [PersistentState("webhooks", "store")] IPersistentState<WebhookState> state,
    IWebhookTransport transport,
    IOptions<WebhookOptions> options,
    TimeProvider time,
    ILogger<WebhookGrain> logger) : Grain, IWebhookGrain, IRemindable
{
    private const string DeliveryReminder = "webhook-delivery";

    /// <summary>Event ids remembered for deduplication beyond the deliveries kept.</summary>
    private const int RecentEventIdsKept = 1000;

    private IGrainTimer? _timer;
    private bool _reminderOn;

    private WebhookState S => state.State;

    private string CustomerId => GrainKeys.IdOf(this.GetPrimaryKeyString());

    private RetrySchedule Schedule => new(
        TimeSpan.FromSeconds(options.Value.InitialRetrySeconds),
        TimeSpan.FromSeconds(options.Value.MaxRetrySeconds),
        TimeSpan.FromHours(options.Value.GiveUpAfterHours));

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        ScheduleNext();
        return Task.CompletedTask;
    }

    public async Task<WebhookPutResult> PutAsync(WebhookPutRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = time.GetUtcNow();
        var generated = new Dictionary<string, string>(StringComparer.Ordinal);
        var webhooks = new Dictionary<string, WebhookEndpoint>(StringComparer.Ordinal);
        var generatedBy = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in request.Webhooks)
        {
            var existing = S.Webhooks.GetValueOrDefault(item.WebhookId);
            string secret;
            DateTimeOffset setAt;
            if (item.Secret is not null)
            {
                secret = item.Secret;
                setAt = existing?.Secret == item.Secret ? existing.SecretSetAt : now;
            }
            else if (existing is not null)
            {
                (secret, setAt) = (existing.Secret, existing.SecretSetAt);
                if (S.SecretGeneratedBy.TryGetValue(item.WebhookId, out var key))
                {
                    generatedBy[item.WebhookId] = key;
                    if (request.IdempotencyKey is not null && key == request.IdempotencyKey)
                    {
                        generated[item.WebhookId] = secret;
                    }
                }
            }
            else
            {
                (secret, setAt) = (WebhookEndpoint.GenerateSecret(), now);
                generated[item.WebhookId] = secret;
                if (request.IdempotencyKey is not null)
                {
                    generatedBy[item.WebhookId] = request.IdempotencyKey;
                }
            }

            webhooks[item.WebhookId] = new WebhookEndpoint(item.WebhookId, item.Url, item.Kinds, secret, setAt);
        }

        var changed = webhooks.Count != S.Webhooks.Count
            || webhooks.Any(w => !S.Webhooks.TryGetValue(w.Key, out var old) || !Same(old, w.Value));
        if (changed)
        {
            S.Webhooks = webhooks;
            S.SecretGeneratedBy = generatedBy;
            S.Deliveries.RemoveAll(d => !webhooks.ContainsKey(d.WebhookId));
            await state.WriteOrReloadAsync(this, logger);
            LogPut(CustomerId, webhooks.Count);
        }

        return new WebhookPutResult(Views(), generated, changed);
    }

    private static bool Same(WebhookEndpoint a, WebhookEndpoint b) =>
        a.Url == b.Url && a.Secret == b.Secret && a.SecretSetAt == b.SecretSetAt && a.Kinds.SequenceEqual(b.Kinds, StringComparer.Ordinal);

    public Task<List<WebhookView>> ListAsync() => Task.FromResult(Views());

    public async Task<bool> DeleteAsync(string webhookId)
    {
        if (!S.Webhooks.Remove(webhookId))
        {
            return false;
        }

        S.SecretGeneratedBy.Remove(webhookId);
        S.Deliveries.RemoveAll(d => d.WebhookId == webhookId);
        await state.WriteOrReloadAsync(this, logger);
        LogDeleted(CustomerId, webhookId);
        return true;
    }

    public async Task<string?> RotateSecretAsync(string webhookId)
    {
        if (!S.Webhooks.TryGetValue(webhookId, out var webhook))
        {
            return null;
        }

        var secret = WebhookEndpoint.GenerateSecret();
        S.Webhooks[webhookId] = webhook with { Secret = secret, SecretSetAt = time.GetUtcNow() };
        S.SecretGeneratedBy.Remove(webhookId);
        await state.WriteOrReloadAsync(this, logger);
        LogSecretRotated(CustomerId, webhookId);
        return secret;
    }

    public async Task PublishAsync(WebhookEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (S.RecentEventIds.Contains(e.EventId, StringComparer.Ordinal) || S.Deliveries.Any(d => d.EventId == e.EventId))
        {
            return;
        }

        var now = time.GetUtcNow();
        var queued = S.Webhooks.Values
            .Where(w => w.Receives(e.Kind))
            .OrderBy(w => w.WebhookId, StringComparer.Ordinal)
            .Select(w => WebhookDelivery.Queue(e, w.WebhookId, now))
            .ToList();
        if (queued.Count == 0)
        {
            // Nobody listens: nothing to store (a customer without webhooks costs no row).
            return;
        }

        S.Deliveries.AddRange(queued);
        S.RecentEventIds.Add(e.EventId);
        if (S.RecentEventIds.Count > RecentEventIdsKept)
        {
            S.RecentEventIds.RemoveRange(0, S.RecentEventIds.Count - RecentEventIdsKept);
        }

        await state.WriteOrReloadAsync(this, logger);
        LogPublished(CustomerId, e.Kind, e.EventId, queued.Count);
        await EnsureReminderAsync();
        ScheduleNext();
    }

    public Task<List<WebhookDelivery>> GetDeliveriesAsync() =>
        Task.FromResult(S.Deliveries.AsEnumerable().Reverse().ToList());

    public async Task DeliverDueAsync()
    {
        var now = time.GetUtcNow();
        var due = S.Deliveries.Where(d => d.IsDue(now)).ToList();
        if (due.Count > 0)
        {
            var outcomes = await Task.WhenAll(due.Select(d => AttemptAsync(d, now)));
            var byKey = outcomes.ToDictionary(d => (d.EventId, d.WebhookId));
            S.Deliveries = S.Deliveries.Select(d => byKey.GetValueOrDefault((d.EventId, d.WebhookId), d)).ToList();
            PruneFinished();
            await state.WriteOrReloadAsync(this, logger, ScheduleNext);
        }

        ScheduleNext();
        if (!S.Deliveries.Any(d => d.IsOpen))
        {
            await StopReminderAsync();
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        _reminderOn = true;
        return reminderName == DeliveryReminder ? DeliverDueAsync() : Task.CompletedTask;
    }

    private async Task<WebhookDelivery> AttemptAsync(WebhookDelivery delivery, DateTimeOffset now)
    {
        if (!S.Webhooks.TryGetValue(delivery.WebhookId, out var webhook))
        {
            return delivery;
        }

        var timestamp = now.ToUnixTimeSeconds();
        var attempt = delivery.Attempts + 1;
        var headers = new List<KeyValuePair<string, string>>
        {
            new(WebhookHeaders.EventId, delivery.EventId),
            new(WebhookHeaders.EventKind, delivery.Kind),
            new(WebhookHeaders.Timestamp, timestamp.ToString(CultureInfo.InvariantCulture)),
            new(WebhookHeaders.Signature, WebhookSignature.Sign(webhook.Secret, timestamp, System.Text.Encoding.UTF8.GetBytes(delivery.Body))),
            new(WebhookHeaders.Attempt, attempt.ToString(CultureInfo.InvariantCulture)),
        };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.Value.TimeoutSeconds));
        WebhookAttempt result;
        try
        {
            result = await transport.PostAsync(webhook.Url, headers, delivery.Body, timeout.Token);
        }
        catch (Exception e)
        {
            // Whatever went wrong with this receiver is this attempt's failure, never the round's: the others are stored.
            result = new WebhookAttempt(null, e is OperationCanceledException ? $"no answer within {options.Value.TimeoutSeconds} s" : e.Message);
        }

        var at = time.GetUtcNow();
        if (result.Succeeded)
        {
            LogDelivered(CustomerId, delivery.EventId, delivery.WebhookId, attempt);
            return delivery.Succeeded(at, result.StatusCode!.Value);
        }

        var failed = delivery.Failed(at, result.StatusCode, result.Error ?? $"HTTP {result.StatusCode}", Schedule);
        LogAttemptFailed(CustomerId, delivery.EventId, delivery.WebhookId, attempt, failed.LastError!, failed.State == WebhookDeliveryState.GivenUp);
        return failed;
    }

    /// <summary>Keeps every open delivery and the most recent finished ones.</summary>
    private void PruneFinished()
    {
        var finished = S.Deliveries.Count(d => !d.IsOpen);
        var excess = finished - options.Value.KeepFinished;
        if (excess <= 0)
        {
            return;
        }

        var dropped = 0;
        S.Deliveries = S.Deliveries.Where(d => d.IsOpen || ++dropped > excess).ToList();
    }

    /// <summary>The timer fires when the earliest open delivery is due; none while nothing is open.</summary>
    private void ScheduleNext()
    {
        _timer?.Dispose();
        _timer = null;
        var next = S.Deliveries.Where(d => d.IsOpen).Min(d => d.NextAttemptAt);
        if (next is null)
        {
            return;
        }

        var wait = next.Value - time.GetUtcNow();
        _timer = this.RegisterGrainTimer(
            DeliverDueAsync,
            new GrainTimerCreationOptions(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private async Task EnsureReminderAsync()
    {
        if (_reminderOn)
        {
            return;
        }

        var period = TimeSpan.FromSeconds(options.Value.ReminderSeconds);
        await this.RegisterOrUpdateReminder(DeliveryReminder, period, period);
        _reminderOn = true;
    }

    private async Task StopReminderAsync()
    {
        if (await this.GetReminder(DeliveryReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        _reminderOn = false;
    }

    private List<WebhookView> Views()
    {
        var counts = S.Deliveries.GroupBy(d => (d.WebhookId, d.State)).ToDictionary(g => g.Key, g => g.Count());
        int Count(string id, WebhookDeliveryState s) => counts.GetValueOrDefault((id, s));
        return S.Webhooks.Values
            .OrderBy(w => w.WebhookId, StringComparer.Ordinal)
            .Select(w => new WebhookView(
                w.WebhookId,
                w.Url,
                w.Kinds,
                w.SecretSetAt,
                Count(w.WebhookId, WebhookDeliveryState.Pending),
                Count(w.WebhookId, WebhookDeliveryState.Failing),
                Count(w.WebhookId, WebhookDeliveryState.Delivered),
                Count(w.WebhookId, WebhookDeliveryState.GivenUp)))
            .ToList();
    }
}
