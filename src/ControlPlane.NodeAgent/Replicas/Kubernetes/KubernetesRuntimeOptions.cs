namespace ControlPlane.NodeAgent.Replicas.Kubernetes;

/// <summary>
/// <c>--runtime kubernetes</c>: each replica is a pod on the agent's own node, created through the Kubernetes API and
/// owned by the agent's pod.
/// </summary>
/// <param name="ApiServer">The API server's base address, ending with '/' (<c>--kube-api</c>; in a pod, <c>https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/</c>).</param>
/// <param name="TokenFile">The service-account token, read for every call (<c>--kube-token-file</c>).</param>
/// <param name="CaFile">The cluster CA the API server's certificate must chain to (<c>--kube-ca-file</c>); unused over http.</param>
/// <param name="NamespaceFile">
/// Where the namespace is read when <see cref="Namespace"/> is not given: the service-account mount's namespace file.
/// </param>
/// <param name="PodName">The agent's own pod (downward API <c>metadata.name</c>): the owner of the engine pods.</param>
/// <param name="PodUid">The agent's pod uid (downward API <c>metadata.uid</c>): the owner reference, and the label that finds its pods again.</param>
/// <param name="NodeName">The Kubernetes node the engine pods are pinned to (<c>spec.nodeName</c>).</param>
internal sealed record KubernetesRuntimeOptions(Uri ApiServer, string TokenFile, string? CaFile, string NamespaceFile, string PodName, string PodUid, string NodeName) : RuntimeOptions
{
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";
    public const string DefaultTokenFile = ServiceAccountDirectory + "/token";
    public const string DefaultCaFile = ServiceAccountDirectory + "/ca.crt";
    public const string DefaultNamespaceFile = ServiceAccountDirectory + "/namespace";
    public const int DefaultEnginePort = 8000;
    public const string DefaultReadyPath = "/health";

    /// <summary>The namespace of the engine pods (<c>--kube-namespace</c>); null: read from <see cref="NamespaceFile"/>.</summary>
    public string? Namespace { get; init; }

    /// <summary>The engine image for a deployment that names none (<c>--engine-image</c>); null: such a replica fails.</summary>
    public string? DefaultImage { get; init; }

    /// <summary>Run by <c>/bin/sh -c</c> in the engine container (its command); null: the image's own entrypoint, with the template's args.</summary>
    public string? StartCommand { get; init; }

    /// <summary>The port the engine serves on inside its pod (<c>--engine-port</c>): readiness probe, sleep and wake.</summary>
    /// <value>8000, vLLM's default.</value>
    public int EnginePort { get; init; } = DefaultEnginePort;

    /// <summary>The readiness probe's HTTP path (<c>--engine-ready-path</c>): the replica is ready once the pod is.</summary>
    /// <value><c>/health</c>, which vLLM answers 200 once the model is loaded.</value>
    public string ReadyPath { get; init; } = DefaultReadyPath;

    /// <summary>Path the agent POSTs to on the engine to put it to sleep (<c>--engine-sleep-path</c>); null: engines never sleep.</summary>
    public string? SleepPath { get; init; }

    /// <summary>Path the agent POSTs to on a sleeping engine to wake it (<c>--engine-wake-path</c>).</summary>
    public string? WakePath { get; init; }

    /// <summary>A JSON file with what the operator adds to every engine pod (<c>--pod-template</c>): see <see cref="KubernetesPodTemplate"/>.</summary>
    public string? PodTemplateFile { get; init; }

    /// <summary>How often a replica's pod is read while the replica runs.</summary>
    /// <value>2 s, as the command runtime's ready command.</value>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The grace period a deleted engine pod gets; the stop then waits for the pod to be gone, a little longer.</summary>
    /// <value>10 s, so that stopping every replica fits in the agent's own 30 s.</value>
    public TimeSpan StopTimeout { get; init; } = CommandRuntimeOptions.DefaultStopTimeout;

    /// <summary>
    /// How long a new replica waits for a pod of its name that is not its own to be gone before it is reported failed.
    /// </summary>
    /// <value>2 min: the engines of a replaced agent pod are deleted by Kubernetes' garbage collector within their grace period.</value>
    public TimeSpan NameWait { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long the sleep call may take before the engine is stopped instead.</summary>
    public TimeSpan SleepTimeout { get; init; } = TimeSpan.FromSeconds(CommandRuntimeOptions.DefaultSleepTimeoutSeconds);

    /// <summary>How long the wake call may take before the replica is reported failed.</summary>
    public TimeSpan WakeTimeout { get; init; } = TimeSpan.FromSeconds(CommandRuntimeOptions.DefaultWakeTimeoutSeconds);

    public bool CanSleep => SleepPath is not null && WakePath is not null;

    public override IReplicaRuntime CreateRuntime(AgentLog log, TimeProvider time, Action<string>? onModelLoaded = null) =>
        KubernetesReplicaRuntime.Create(this, log, time);

    public override string Describe() =>
        $"kubernetes (one pod per replica on node {NodeName}, owned by pod {PodName}, API {ApiServer}; image: the deployment's"
        + $"{(DefaultImage is null ? "" : $", else {DefaultImage}")}; command: {StartCommand ?? "the image's entrypoint"}; ready: GET :{EnginePort}{ReadyPath}"
        + (CanSleep ? $"; sleep: POST :{EnginePort}{SleepPath}; wake: POST :{EnginePort}{WakePath})" : ")");
}
