using System.Text.Json.Nodes;

namespace ControlPlane.NodeAgent.Replicas.Kubernetes;

/// <summary>
/// Runs each replica as a pod on the agent's own node (<see cref="KubernetesPods.Build"/>), through the Kubernetes API:
/// <c>starting</c> until the pod is Ready (its readiness probe on the engine passes), <c>failed</c> once the engine cannot
/// come back (the pod failed, its container crashed or its image cannot be pulled, the pod vanished). Stopping deletes
/// the pod and waits until it is gone, so that its GPUs' memory is free before another engine starts there.
/// </summary>
/// <remarks>
/// The pods are owned by the agent's pod: Kubernetes deletes them with it. An agent whose container restarts in the same
/// pod takes back the pods of the replicas it is asked for again (a pod's name follows from its replica id) and, once it
/// has been through a heartbeat reply, deletes the other pods it owns (<see cref="Reconciled"/>).
/// </remarks>
internal sealed class KubernetesReplicaRuntime : IReplicaRuntime
{
    private readonly KubernetesRuntimeOptions _options;
    private readonly KubernetesApi _api;
    private readonly HttpClient _engines;
    private readonly KubernetesPodTemplate _template;
    private readonly AgentLog _log;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    // Pod names of the replicas this process runs (started or adopted, until their stop is done): never orphans.
    private readonly HashSet<string> _live = new(StringComparer.Ordinal);
    private Task? _sweep;
    private bool _swept;

    public KubernetesReplicaRuntime(KubernetesRuntimeOptions options, KubernetesApi api, HttpClient engines, KubernetesPodTemplate template, AgentLog log, TimeProvider time)
    {
        _options = options;
        _api = api;
        _engines = engines;
        _template = template;
        _log = log;
        _time = time;
    }

    public bool CanSleep => _options.CanSleep;

    public bool StopsReplicasOnExit => false;

    /// <summary>Done once the pods of an earlier agent process that no heartbeat wants are deleted (or the attempt failed).</summary>
    public Task Swept
    {
        get
        {
            lock (_gate)
            {
                return _sweep ?? Task.CompletedTask;
            }
        }
    }

    /// <summary>
    /// The runtime for <paramref name="options"/>: reads the namespace and the pod template; throws <see cref="IOException"/>,
    /// <see cref="UnauthorizedAccessException"/> or <see cref="InvalidDataException"/> when they cannot be read.
    /// </summary>
    public static KubernetesReplicaRuntime Create(KubernetesRuntimeOptions options, AgentLog log, TimeProvider time)
    {
        var @namespace = options.Namespace ?? File.ReadAllText(options.NamespaceFile).Trim();
        if (@namespace.Length == 0)
        {
            throw new InvalidDataException($"{options.NamespaceFile} is empty: give --kube-namespace");
        }

        var template = options.PodTemplateFile is { } file ? KubernetesPodTemplate.Load(file) : KubernetesPodTemplate.Empty;
        if (options.StartCommand is not null && template.Container["args"] is not null)
        {
            throw new InvalidDataException($"{options.PodTemplateFile}: container.args is for the image's entrypoint; with --start-command the command line is the start command's");
        }

        var api = new KubernetesApi(KubernetesApi.CreateHttpClient(options.ApiServer, options.CaFile), options.ApiServer, options.TokenFile, @namespace);
        var engines = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        return new KubernetesReplicaRuntime(options, api, engines, template, log, time);
    }

    public IReplica Start(ReplicaSpec spec)
    {
        var image = spec.Image ?? _options.DefaultImage;
        var name = KubernetesPods.PodName(spec.ReplicaId);
        if (image is null)
        {
            return new FailedReplica(spec, ReplicaStatus.Failed("its deployment names no engine image and the agent has no --engine-image"));
        }

        lock (_gate)
        {
            _live.Add(name);
        }

        return new PodReplica(this, spec, name, KubernetesPods.Build(spec, image, _options, _template, _api.Namespace));
    }

    /// <summary>
    /// After the first heartbeat reply: deletes the pods this agent's pod owns that no replica of this process runs (left by
    /// an earlier process of the agent in this pod, e.g. engines that slept, or replicas the server moved meanwhile).
    /// Tried again after the next reply when the API could not be reached.
    /// </summary>
    public void Reconciled()
    {
        lock (_gate)
        {
            if (_swept || _sweep is { IsCompleted: false })
            {
                return;
            }

            _sweep = Task.Run(SweepAsync);
        }
    }

    private async Task SweepAsync()
    {
        IReadOnlyList<JsonObject> pods;
        try
        {
            using var timeout = new CancellationTokenSource(KubernetesApi.RequestTimeout, _time);
            pods = await _api.ListPodsAsync(KubernetesPods.Selector(_options.PodUid), timeout.Token);
        }
        catch (Exception e) when (e is HttpRequestException or KubernetesApiException or OperationCanceledException or IOException or UnauthorizedAccessException)
        {
            _log.Warn($"cannot list the engine pods left by an earlier agent process, trying again after the next heartbeat: {e.Message}");
            return;
        }

        lock (_gate)
        {
            _swept = true;
            pods = [.. pods.Where(p => KubernetesPods.NameOf(p) is { } n && !_live.Contains(n) && KubernetesPods.IsOwnedBy(p, _options.PodUid))];
        }

        foreach (var pod in pods)
        {
            var name = KubernetesPods.NameOf(pod)!;
            _log.Info($"deleting pod {name} (replica {KubernetesPods.ReplicaIdOf(pod) ?? "?"}): left by an earlier agent process, not desired now");
            try
            {
                using var timeout = new CancellationTokenSource(KubernetesApi.RequestTimeout, _time);
                await _api.DeletePodAsync(name, _options.StopTimeout, timeout.Token);
            }
            catch (Exception e) when (e is HttpRequestException or KubernetesApiException or OperationCanceledException or IOException or UnauthorizedAccessException)
            {
                _log.Warn($"cannot delete pod {name}: {e.Message}");
            }
        }
    }

    private void Forget(string name)
    {
        lock (_gate)
        {
            _live.Remove(name);
        }
    }

    /// <summary>A replica that could not even be asked for: nothing runs, nothing to stop.</summary>
    private sealed class FailedReplica(ReplicaSpec spec, ReplicaStatus status) : IReplica
    {
        public ReplicaSpec Spec { get; } = spec;

        public ReplicaStatus Status { get; } = status;

        public Task StopAsync() => Task.CompletedTask;

        public Task<bool> SleepAsync() => Task.FromResult(false);

        public IReplica Wake(ReplicaSpec spec) => new FailedReplica(spec, Status);
    }

    /// <summary>One replica's pod, created (or taken back) and then read every poll interval until the replica is stopped.</summary>
    private sealed class PodReplica : IReplica
    {
        // How long after the grace period a stop waits for the pod to be gone before it gives up on it.
        private static readonly TimeSpan GoneSlack = TimeSpan.FromSeconds(5);

        private readonly KubernetesReplicaRuntime _runtime;
        private readonly string _name;
        private readonly CancellationTokenSource _watching = new();
        private readonly Lock _gate = new();
        private readonly Task _watched;
        private ReplicaStatus _status = ReplicaStatus.Starting;
        private string? _podIp;
        private Task? _stopped;
        // The pod of this name is this replica's: created or taken back by it. Else a stop must not delete it.
        private volatile bool _owned;

        public PodReplica(KubernetesReplicaRuntime runtime, ReplicaSpec spec, string name, JsonObject pod)
        {
            _runtime = runtime;
            Spec = spec;
            _name = name;
            _watched = Task.Run(() => WatchAsync(pod, _watching.Token));
        }

        public ReplicaSpec Spec { get; }

        public ReplicaStatus Status
        {
            get
            {
                lock (_gate)
                {
                    return _status;
                }
            }
        }

        private KubernetesRuntimeOptions Options => _runtime._options;

        public Task StopAsync()
        {
            lock (_gate)
            {
                return _stopped ??= Task.Run(StopCoreAsync);
            }
        }

        public Task<bool> SleepAsync()
        {
            var path = Options.SleepPath;
            lock (_gate)
            {
                if (path is null || _stopped is not null || _status.State != ReplicaState.Ready)
                {
                    return Task.FromResult(false);
                }
            }

            return Task.Run(() => CallEngineAsync(path, Options.SleepTimeout, "sleep", CancellationToken.None));
        }

        /// <summary>Wakes this pod's sleeping engine for <paramref name="spec"/>: the pod keeps its name and variables (the first replica's).</summary>
        public IReplica Wake(ReplicaSpec spec) =>
            new WokenReplica(this, spec, async stopping =>
                await CallEngineAsync(Options.WakePath!, Options.WakeTimeout, "wake", stopping) ? null : $"the engine in pod {_name} did not wake");

        /// <summary>POSTs to the engine in its pod; true on a 2xx. Never throws but for <paramref name="stopping"/>.</summary>
        private async Task<bool> CallEngineAsync(string path, TimeSpan timeout, string what, CancellationToken stopping)
        {
            string? ip;
            lock (_gate)
            {
                ip = _podIp;
            }

            if (ip is null)
            {
                _runtime._log.Warn($"replica {Spec.ReplicaId}: cannot {what}: pod {_name} has no IP address");
                return false;
            }

            using var deadline = new CancellationTokenSource(timeout, _runtime._time);
            using var either = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, stopping);
            var address = new Uri($"http://{(ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]" : ip)}:{Options.EnginePort}{path}");
            try
            {
                using var response = await _runtime._engines.PostAsync(address, content: null, either.Token);
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }

                _runtime._log.Warn($"replica {Spec.ReplicaId}: {what}: POST {address} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
            {
                _runtime._log.Warn($"replica {Spec.ReplicaId}: {what}: POST {address} did not answer within {timeout.TotalSeconds:0.###} s");
            }
            catch (HttpRequestException e)
            {
                _runtime._log.Warn($"replica {Spec.ReplicaId}: {what}: POST {address} failed: {e.Message}");
            }

            return false;
        }

        private async Task WatchAsync(JsonObject pod, CancellationToken stopping)
        {
            try
            {
                if (await CreateAsync(pod, stopping) is { } notCreated)
                {
                    SetStatus(notCreated);
                    return;
                }

                while (true)
                {
                    JsonObject? current = null;
                    try
                    {
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                        timeout.CancelAfter(KubernetesApi.RequestTimeout);
                        current = await _runtime._api.GetPodAsync(_name, timeout.Token);
                        if (current is null)
                        {
                            SetStatus(ReplicaStatus.Failed($"pod {_name} is gone (deleted, or evicted, outside the agent)"));
                            return;
                        }
                    }
                    catch (Exception e) when (!stopping.IsCancellationRequested && e is HttpRequestException or KubernetesApiException or OperationCanceledException or IOException or UnauthorizedAccessException)
                    {
                        // The API server being away for a while says nothing about the engine: keep its last known state.
                        _runtime._log.Warn($"replica {Spec.ReplicaId}: cannot read pod {_name}: {e.Message}");
                    }

                    if (current is not null)
                    {
                        var status = KubernetesPods.StatusOf(current);
                        lock (_gate)
                        {
                            _podIp = KubernetesPods.PodIp(current) ?? _podIp;
                        }

                        SetStatus(status);
                        if (status.State == ReplicaState.Failed)
                        {
                            return;
                        }
                    }

                    await Task.Delay(Options.PollInterval, _runtime._time, stopping);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // Stopping.
            }
        }

        /// <summary>
        /// Creates the pod, or takes back the one an earlier agent process in this pod made for this replica; null when done,
        /// else why not. A pod of the name that is not this replica's to take (being deleted, or owned by an agent pod that was
        /// replaced and whose pods Kubernetes is still deleting) is waited for, up to <see cref="KubernetesRuntimeOptions.NameWait"/>.
        /// </summary>
        private async Task<ReplicaStatus?> CreateAsync(JsonObject pod, CancellationToken stopping)
        {
            var api = _runtime._api;
            var giveUpAt = _runtime._time.GetUtcNow() + Options.NameWait;
            var waitLogged = false;
            while (true)
            {
                string? inTheWay;
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                    timeout.CancelAfter(KubernetesApi.RequestTimeout);
                    if (await api.CreatePodAsync(pod, timeout.Token) is null)
                    {
                        _owned = true;
                        return null;
                    }

                    // 409: a pod of this name exists (null: it went between the two calls; create it again after the pause).
                    var existing = await api.GetPodAsync(_name, timeout.Token);
                    var ours = existing is not null && KubernetesPods.IsOwnedBy(existing, Options.PodUid);
                    var terminating = existing?["metadata"]?["deletionTimestamp"] is not null;
                    if (ours && !terminating && string.Equals(KubernetesPods.ReplicaIdOf(existing!), Spec.ReplicaId, StringComparison.Ordinal))
                    {
                        _runtime._log.Info($"replica {Spec.ReplicaId}: took back pod {_name}, left by an earlier agent process in this pod");
                        _owned = true;
                        return null;
                    }

                    inTheWay = existing is null ? "gone meanwhile"
                        : terminating ? "being deleted"
                        : ours ? $"made for replica {KubernetesPods.ReplicaIdOf(existing) ?? "?"}"
                        : "owned by another pod";
                }
                catch (Exception e) when (!stopping.IsCancellationRequested && e is HttpRequestException or KubernetesApiException or OperationCanceledException or IOException or UnauthorizedAccessException)
                {
                    return ReplicaStatus.Failed($"cannot create pod {_name}: {e.Message}");
                }

                if (_runtime._time.GetUtcNow() >= giveUpAt)
                {
                    return ReplicaStatus.Failed($"pod {_name} exists ({inTheWay}) and was not gone within {Options.NameWait.TotalSeconds:0.###} s");
                }

                if (!waitLogged)
                {
                    // E.g. right after the agent's own pod was replaced: Kubernetes deletes the old pod's engines meanwhile.
                    _runtime._log.Info($"replica {Spec.ReplicaId} waits for pod {_name} ({inTheWay}) to be gone");
                    waitLogged = true;
                }

                await Task.Delay(Options.PollInterval, _runtime._time, stopping);
            }
        }

        private void SetStatus(ReplicaStatus status)
        {
            lock (_gate)
            {
                // A stopped replica keeps the state it had; a ready one stays ready until its engine fails (as with a command).
                if (_stopped is null && _status.State != ReplicaState.Failed && !(status.State == ReplicaState.Starting && _status.State == ReplicaState.Ready))
                {
                    _status = status;
                }
            }
        }

        private async Task StopCoreAsync()
        {
            await _watching.CancelAsync();
            // The watch never faults but for a bug; a stop must not fault even then.
            await _watched.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            var api = _runtime._api;
            var log = _runtime._log;
            try
            {
                using (var timeout = new CancellationTokenSource(KubernetesApi.RequestTimeout, _runtime._time))
                {
                    // A create whose answer was lost may have made the pod: delete it if it is this replica's, never another's.
                    if (!_owned && (await api.GetPodAsync(_name, timeout.Token) is not { } pod
                        || !KubernetesPods.IsOwnedBy(pod, Options.PodUid)
                        || !string.Equals(KubernetesPods.ReplicaIdOf(pod), Spec.ReplicaId, StringComparison.Ordinal)))
                    {
                        return;
                    }

                    if (!await api.DeletePodAsync(_name, Options.StopTimeout, timeout.Token))
                    {
                        return;
                    }
                }

                // Gone means its containers are: only then is the GPU memory free for the next engine on these GPUs.
                using var deadline = new CancellationTokenSource(Options.StopTimeout + GoneSlack, _runtime._time);
                while (true)
                {
                    try
                    {
                        using var call = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
                        call.CancelAfter(KubernetesApi.RequestTimeout);
                        if (await api.GetPodAsync(_name, call.Token) is null)
                        {
                            return;
                        }
                    }
                    catch (Exception e) when (!deadline.IsCancellationRequested && e is HttpRequestException or KubernetesApiException or OperationCanceledException)
                    {
                        log.Warn($"replica {Spec.ReplicaId}: cannot read pod {_name} while it stops: {e.Message}");
                    }

                    await Task.Delay(Options.PollInterval, _runtime._time, deadline.Token);
                }
            }
            catch (OperationCanceledException)
            {
                log.Warn($"replica {Spec.ReplicaId}: pod {_name} still there {(Options.StopTimeout + GoneSlack).TotalSeconds:0.###} s after it was deleted; its GPUs may not be free yet");
            }
            catch (Exception e) when (e is HttpRequestException or KubernetesApiException or IOException or UnauthorizedAccessException)
            {
                log.Error($"replica {Spec.ReplicaId}: cannot delete pod {_name}: {e.Message}; it is deleted with the agent's pod");
            }
            finally
            {
                _runtime.Forget(_name);
            }
        }
    }
}
