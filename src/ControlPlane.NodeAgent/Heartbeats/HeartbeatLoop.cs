using System.Diagnostics;
using ControlPlane.NodeAgent.Gpus;
using ControlPlane.NodeAgent.Models;
using ControlPlane.NodeAgent.Replicas;

namespace ControlPlane.NodeAgent.Heartbeats;

/// <summary>
/// Reads the GPUs, sends a heartbeat with them, the replicas and the model cache, applies the reply's desired
/// replicas and prefetch list, waits; until cancelled. Never gives up on the server: a heartbeat that fails is sent
/// again to the next server of the list, soon enough that the node stays within its suspect window while any server
/// answers (<see cref="Backoff"/>), and never sooner than a server's <c>Retry-After</c>. Stopping the replicas at exit
/// is the caller's choice, not the loop's.
/// </summary>
internal sealed class HeartbeatLoop(
    HeartbeatClient client,
    IGpuReader gpuReader,
    ReplicaSupervisor replicas,
    AgentLog log,
    TimeProvider time,
    Backoff backoff,
    Guid sessionId,
    string agentVersion,
    ModelCache? models = null,
    LivenessFile? liveness = null,
    NodeIdentity? identity = null)
{
    /// <summary>The interval until the server names one.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(5);

    // A server bug must neither make the agent spin nor go silent for hours.
    private static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxInterval = TimeSpan.FromMinutes(5);

    private long _sequence;
    private TimeSpan _interval = DefaultInterval;
    private bool _everAccepted;
    private IReadOnlyList<GpuReport> _gpus = [];
    private string? _inventoryError;

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled, then returns without throwing.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var delay = await BeatAsync(cancellationToken);
                liveness?.Touch();
                await Task.Delay(delay, time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Sends one heartbeat and returns how long to wait before the next.</summary>
    private async Task<TimeSpan> BeatAsync(CancellationToken cancellationToken)
    {
        await RefreshGpusAsync(cancellationToken);

        var sequence = ++_sequence;
        var result = await client.SendAsync(
            new HeartbeatRequest(sequence, sessionId, agentVersion, _inventoryError, _gpus, replicas.Report(), models?.Report(), replicas.Sleeping(), replicas.SleepBudgetBytes),
            HeartbeatClient.RequestTimeout(_interval),
            cancellationToken);

        switch (result.Outcome)
        {
            case HeartbeatOutcome.Accepted:
                OnAccepted(sequence, result.Reply);
                return _interval;

            case HeartbeatOutcome.Unauthorized when result.TokenRefused && identity is not null:
            {
                log.Error($"heartbeat {sequence}: {result.Message}");
                if (await identity.RenewAsync(client.Token, cancellationToken) is { } renewed)
                {
                    client.Token = renewed;
                    return TimeSpan.Zero;
                }

                var delay = backoff.SlowDelay();
                log.Error($"heartbeat {sequence}: no other node token to try; retrying in {delay.TotalSeconds:0.0} s");
                return delay;
            }

            case HeartbeatOutcome.Unauthorized:
            {
                var delay = backoff.SlowDelay();
                log.Error($"heartbeat {sequence}: {result.Message}; retrying in {delay.TotalSeconds:0.0} s");
                return delay;
            }

            case HeartbeatOutcome.Rejected:
                backoff.Reset();
                log.Error($"heartbeat {sequence}: {result.Message}; next in {_interval.TotalSeconds:0.#} s");
                return _interval;

            case HeartbeatOutcome.Unavailable:
            {
                // A server that says when to come back (throttled, or busy) is not asked again sooner; the back-off
                // still grows underneath, and no answer makes the agent wait longer than its longest interval.
                var delay = backoff.NextDelay(_interval, client.ServerCount);
                var asked = "";
                if (result.RetryAfter is { } retryAfter)
                {
                    delay = TimeSpan.FromTicks(Math.Max(delay.Ticks, Math.Min(retryAfter.Ticks, MaxInterval.Ticks)));
                    asked = $" (the server asked for {retryAfter.TotalSeconds:0.#} s)";
                }

                var next = client.FailOver() ? $" with {client.Server}" : "";
                log.Warn($"heartbeat {sequence} failed (attempt {backoff.Failures}): {result.Message}; retrying{next} in {delay.TotalSeconds:0.0} s{asked}");
                return delay;
            }

            default:
                throw new UnreachableException($"unknown heartbeat outcome {result.Outcome}");
        }
    }

    private void OnAccepted(long sequence, HeartbeatReply? reply)
    {
        var interval = reply?.HeartbeatIntervalSeconds is { } seconds
            ? TimeSpan.FromSeconds(Math.Clamp(seconds, MinInterval.TotalSeconds, MaxInterval.TotalSeconds))
            : _interval;

        if (!_everAccepted || backoff.Failures > 0)
        {
            var after = backoff.Failures switch
            {
                0 => "",
                1 => " after 1 failed attempt",
                var n => $" after {n} failed attempts",
            };
            log.Info($"heartbeat {sequence} accepted by {client.Endpoint}{after}; next every {interval.TotalSeconds:0.#} s");
        }
        else if (interval != _interval)
        {
            log.Info($"server set the heartbeat interval to {interval.TotalSeconds:0.#} s");
        }

        _everAccepted = true;
        identity?.Accepted();
        _interval = interval;
        backoff.Reset();
        replicas.Reconcile(reply?.Desired);
        replicas.StopSleeping(reply?.StopSleeping);
        models?.Prefetch(reply?.Prefetch);
    }

    private async Task RefreshGpusAsync(CancellationToken cancellationToken)
    {
        var reading = await gpuReader.ReadAsync(cancellationToken);
        if (reading.Error is { } error)
        {
            // Keep reporting the last GPUs known: the server should not think they vanished because a tool hiccuped.
            if (error != _inventoryError)
            {
                log.Error(_gpus.Count == 0 ? $"{error} (reporting no GPUs)" : $"{error} (reporting the last {_gpus.Count} GPUs known)");
            }

            _inventoryError = error;
            return;
        }

        if (_inventoryError is not null)
        {
            log.Info($"nvidia-smi works again: {reading.Gpus.Count} GPUs");
        }
        else if (!_gpus.Select(g => g.Uuid).SequenceEqual(reading.Gpus.Select(g => g.Uuid)))
        {
            log.Info($"GPUs: {Describe(reading.Gpus)}");
        }

        _inventoryError = null;
        _gpus = reading.Gpus;
    }

    private static string Describe(IReadOnlyList<GpuReport> gpus) =>
        gpus.Count == 0 ? "none" : string.Join(", ", gpus.GroupBy(g => g.Name).Select(g => $"{g.Count()} x {g.Key}"));
}
