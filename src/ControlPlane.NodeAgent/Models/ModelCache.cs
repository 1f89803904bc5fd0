using ControlPlane.NodeAgent.Heartbeats;

namespace ControlPlane.NodeAgent.Models;

/// <summary>
/// The node's model cache as the heartbeat loop uses it: <see cref="Report"/> says what is warm, how much room is
/// left and which prefetches failed; <see cref="Prefetch"/> starts fetching what the server's <c>prefetch</c> list
/// names and the cache lacks, in the background (heartbeats never wait for it), one fetch at a time per model.
/// A failed model is tried again no sooner than <see cref="FirstRetryDelay"/> later, doubling up to
/// <see cref="MaxRetryDelay"/>, for as long as the server keeps asking for it.
/// </summary>
internal sealed class ModelCache(ModelCacheDirectory directory, IModelFetcher? fetcher, AgentLog log, TimeProvider time)
{
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(30);

    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<string, Task> _fetching = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Failure> _failures = new(StringComparer.Ordinal);
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);
    private bool _noFetcherLogged;
    private volatile IReadOnlyDictionary<string, long> _sizes = new Dictionary<string, long>(StringComparer.Ordinal);

    public ModelCacheDirectory Directory => directory;

    public string Describe() =>
        $"model cache {directory.Root}; prefetch: {fetcher?.Describe() ?? "none (no --prefetch-command): prefetch lists are ignored"}";

    /// <summary>What the next heartbeat says about the cache.</summary>
    public ModelCacheReport Report()
    {
        var (free, models) = directory.Scan();
        PrefetchFailureReport[] failures;
        lock (_gate)
        {
            failures = _failures
                .OrderBy(f => f.Key, StringComparer.Ordinal)
                .Select(f => new PrefetchFailureReport(f.Key, f.Value.Attempts, f.Value.Error))
                .ToArray();
        }

        _sizes = models.ToDictionary(m => m.Model, m => m.Bytes, StringComparer.Ordinal);
        return new ModelCacheReport(free, models.Select(m => new CachedModel(m.Model, m.Bytes)).ToArray(), failures);
    }

    /// <summary>
    /// The size of <paramref name="model"/>'s weights as the last report found them complete in the cache; null when they
    /// were not there (how much host memory a sleeping engine of it holds is then unknown).
    /// </summary>
    public long? WeightBytes(string model) => _sizes.TryGetValue(model, out var bytes) ? bytes : null;

    /// <summary>Starts fetching what <paramref name="models"/> names and the cache lacks; returns at once.</summary>
    /// <param name="models">The reply's list; <see langword="null"/> (a reply without one) changes nothing.</param>
    public void Prefetch(IReadOnlyList<string?>? models)
    {
        if (models is null)
        {
            return;
        }

        if (fetcher is null)
        {
            if (models.Count > 0 && !_noFetcherLogged)
            {
                log.Warn($"the server asks to prefetch {string.Join(", ", models)}, but no --prefetch-command is set; ignoring prefetch lists");
                _noFetcherLogged = true;
            }

            return;
        }

        var now = time.GetUtcNow();
        lock (_gate)
        {
            // Failures of models no longer asked for are history: the report keeps only what is still wanted.
            foreach (var dropped in _failures.Keys.Where(k => !models.Contains(k, StringComparer.Ordinal)).ToArray())
            {
                _failures.Remove(dropped);
            }

            foreach (var model in models.Distinct(StringComparer.Ordinal))
            {
                if (!directory.TryGetPath(model, out var path))
                {
                    if (_refused.Add(model ?? ""))
                    {
                        log.Error($"heartbeat reply: cannot prefetch '{model}': not a model id that names a directory under the cache");
                    }

                    continue;
                }

                if (_fetching.ContainsKey(model!) || (_failures.TryGetValue(model!, out var failed) && failed.RetryAt > now) || directory.IsComplete(model!))
                {
                    continue;
                }

                log.Info($"prefetching {model} into {path}");
                _fetching[model!] = FetchAsync(model!, path);
            }
        }
    }

    /// <summary>A replica of <paramref name="model"/> loaded (simulated runtime): its weights are on the node now.</summary>
    public void MarkWarm(string model)
    {
        try
        {
            directory.MarkComplete(model);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Warn($"cannot mark {model} warm in the model cache: {e.Message}");
        }
    }

    /// <summary>Cancels the prefetches under way (their commands are killed) and waits for them.</summary>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync();
        Task[] pending;
        lock (_gate)
        {
            pending = [.. _fetching.Values];
        }

        await Task.WhenAll(pending);
    }

    private async Task FetchAsync(string model, string path)
    {
        // Off the heartbeat loop's thread: a command takes a fork, and the loop must not wait for it.
        await Task.Yield();
        var started = time.GetUtcNow();
        string? error;
        try
        {
            System.IO.Directory.CreateDirectory(path);
            error = await fetcher!.FetchAsync(model, path, _stopping.Token);
            if (error is null)
            {
                directory.MarkComplete(model);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            error = "cancelled: the agent is stopping";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A background task: whatever went wrong is reported in the heartbeat, never lost in an unobserved task.
            error = e.Message;
        }

        var elapsed = time.GetUtcNow() - started;
        lock (_gate)
        {
            _fetching.Remove(model);
            if (error is null)
            {
                _failures.Remove(model);
            }
            else
            {
                var attempts = _failures.TryGetValue(model, out var before) ? before.Attempts + 1 : 1;
                var delay = TimeSpan.FromTicks(Math.Min(MaxRetryDelay.Ticks, FirstRetryDelay.Ticks << Math.Min(attempts - 1, 10)));
                var text = error.Length > 500 ? error[..500] : error;
                _failures[model] = new Failure(attempts, text, time.GetUtcNow() + delay);
            }
        }

        if (error is null)
        {
            log.Info($"prefetched {model} in {elapsed.TotalSeconds:0.#} s");
        }
        else if (!_stopping.IsCancellationRequested)
        {
            log.Error($"prefetch of {model} failed: {error}");
        }
    }

    private sealed record Failure(int Attempts, string Error, DateTimeOffset RetryAt);
}
