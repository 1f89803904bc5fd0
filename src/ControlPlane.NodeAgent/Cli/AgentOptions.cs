using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using ControlPlane.NodeAgent.Models;
using ControlPlane.NodeAgent.Replicas;
using ControlPlane.NodeAgent.Replicas.Kubernetes;

namespace ControlPlane.NodeAgent.Cli;

/// <summary>What the agent was told on its command line (or in its environment).</summary>
/// <param name="Servers">
/// Base addresses of the control plane, e.g. <c>https://cp.example.com/</c> (each ends with '/'): one (a load-balanced
/// address) or several (its silos), which the agent fails over between.
/// </param>
/// <param name="NodeId">The node's enrolled id.</param>
/// <param name="Token">The node's bearer token, when given directly; null when it is kept in <paramref name="NodeTokenFile"/>.</param>
/// <param name="NvidiaSmiPath">Explicit nvidia-smi executable; <see langword="null"/> means "find it on PATH".</param>
/// <param name="RuntimeDirectory">Directory for the agent's runtime state; created at start when given.</param>
/// <param name="Runtime">
/// What runs the replicas: <see cref="CommandRuntimeOptions"/> when a start command is given, else <see cref="SimulatedRuntimeOptions"/>.
/// </param>
/// <param name="ModelCache">The local model cache and how prefetches run; null without <c>--model-cache</c>.</param>
/// <param name="LivenessFile">A file the heartbeat loop rewrites after every heartbeat, whatever its outcome, so a
/// liveness probe can tell a loop that still turns from a stuck one; null without <c>--liveness-file</c>.</param>
/// <param name="SleepBudgetBytes">
/// Host memory that the weights of sleeping engines may take together (<c>--sleep-budget-gb</c>); 0: replicas no longer
/// desired are stopped, never put to sleep.
/// </param>
/// <param name="NodeTokenFile">
/// Where the node's own token is kept (<c>--node-token-file</c>): read at start; when missing, the agent enrols with
/// <paramref name="JoinToken"/> and writes the token it gets there.
/// </param>
/// <param name="JoinToken">A join token the agent enrols its node with when it has no node token (<c>--join-token</c>).</param>
internal sealed record AgentOptions(IReadOnlyList<Uri> Servers, string NodeId, string? Token, string? NvidiaSmiPath, string? RuntimeDirectory, RuntimeOptions Runtime, ModelCacheOptions? ModelCache = null, string? LivenessFile = null, long SleepBudgetBytes = 0, string? NodeTokenFile = null, string? JoinToken = null)
{
    public const string ServerVariable = "CONTROLPLANE_SERVER";
    public const string NodeIdVariable = "CONTROLPLANE_NODE_ID";
    public const string TokenVariable = "CONTROLPLANE_NODE_TOKEN";
    public const string NodeTokenFileVariable = "CONTROLPLANE_NODE_TOKEN_FILE";
    public const string JoinTokenVariable = "CONTROLPLANE_JOIN_TOKEN";
    public const string RuntimeVariable = "CONTROLPLANE_RUNTIME";
    public const string StartCommandVariable = "CONTROLPLANE_START_COMMAND";
    public const string ReadyCommandVariable = "CONTROLPLANE_READY_COMMAND";
    public const string StopCommandVariable = "CONTROLPLANE_STOP_COMMAND";
    public const string ModelCacheVariable = "CONTROLPLANE_MODEL_CACHE";
    public const string PrefetchCommandVariable = "CONTROLPLANE_PREFETCH_COMMAND";
    public const string LivenessFileVariable = "CONTROLPLANE_LIVENESS_FILE";
    public const string SleepBudgetVariable = "CONTROLPLANE_SLEEP_BUDGET_GB";
    public const string SleepCommandVariable = "CONTROLPLANE_SLEEP_COMMAND";
    public const string WakeCommandVariable = "CONTROLPLANE_WAKE_COMMAND";
    public const string KubeApiVariable = "CONTROLPLANE_KUBE_API";
    public const string KubeTokenFileVariable = "CONTROLPLANE_KUBE_TOKEN_FILE";
    public const string KubeCaFileVariable = "CONTROLPLANE_KUBE_CA_FILE";
    public const string KubeNamespaceVariable = "CONTROLPLANE_KUBE_NAMESPACE";
    public const string KubeNodeVariable = "CONTROLPLANE_KUBE_NODE";
    public const string PodNameVariable = "CONTROLPLANE_POD_NAME";
    public const string PodUidVariable = "CONTROLPLANE_POD_UID";
    public const string PodTemplateVariable = "CONTROLPLANE_POD_TEMPLATE";
    public const string EngineImageVariable = "CONTROLPLANE_ENGINE_IMAGE";
    public const string EnginePortVariable = "CONTROLPLANE_ENGINE_PORT";
    public const string EngineReadyPathVariable = "CONTROLPLANE_ENGINE_READY_PATH";
    public const string EngineSleepPathVariable = "CONTROLPLANE_ENGINE_SLEEP_PATH";
    public const string EngineWakePathVariable = "CONTROLPLANE_ENGINE_WAKE_PATH";

    /// <summary>Set by Kubernetes in every pod: where the API server answers inside the cluster.</summary>
    public const string KubernetesServiceHostVariable = "KUBERNETES_SERVICE_HOST";
    public const string KubernetesServicePortVariable = "KUBERNETES_SERVICE_PORT";

    /// <summary>The largest <c>--sleep-budget-gb</c>: more host memory than any machine has.</summary>
    public const int MaxSleepBudgetGiB = 65536;

    public static readonly string Usage = $"""
        usage: ControlPlane.NodeAgent --server URL[,URL...] --node-id ID (--token TOKEN | --node-token-file PATH [--join-token TOKEN])
                 [--nvidia-smi PATH] [--runtime-dir DIR]
                 [--liveness-file PATH]
                 [--runtime simulated|command|kubernetes] [--load-seconds N]
                 [--start-command CMD [--ready-command CMD] [--stop-command CMD]]
                 [--pod-name NAME --pod-uid UID [--kube-node NAME] [--kube-namespace NS] [--kube-api URL]
                  [--kube-token-file PATH] [--kube-ca-file PATH] [--engine-image IMAGE] [--engine-port N]
                  [--engine-ready-path PATH] [--engine-sleep-path PATH --engine-wake-path PATH] [--pod-template FILE]]
                 [--model-cache DIR [--prefetch-command CMD | --prefetch-seconds N]]
                 [--sleep-budget-gb N [--sleep-command CMD --wake-command CMD | --simulated-wake-seconds N]]

          --server URL        control plane base address, http or https   (env {ServerVariable})
                              several (comma-separated, or --server again), e.g. every silo: a
                              heartbeat that fails goes to the next one at once
          --node-id ID        this node's enrolled id                     (env {NodeIdVariable})
          --token TOKEN       this node's bearer token; prefer the env    (env {TokenVariable})
                              variable so the token is not visible in ps
          --node-token-file PATH
                              where this node's own token is kept          (env {NodeTokenFileVariable})
                              (instead of --token): read at start; when it is missing the agent
                              enrols with --join-token and writes the token there (mode 0600). When
                              the server refuses the token (revoked or rotated), the agent reads the
                              file again (an operator may have written a new token there), else
                              enrols once more with the join token if it has one
          --join-token TOKEN  a join token from POST /admin/v1/join-tokens  (env {JoinTokenVariable})
                              it only enrols the node; needs --node-token-file
          --nvidia-smi PATH   nvidia-smi to run (default: nvidia-smi found on PATH)
          --runtime-dir DIR   directory for the agent's runtime state (created if missing)
          --liveness-file PATH
                              rewritten after every heartbeat, whatever its outcome: a liveness probe
                              checks its age (env {LivenessFileVariable})
          -h, --help          show this help

        Replicas: after every heartbeat the agent starts the replicas the server lists and stops the others.
        Give --start-command, or --runtime simulated: the agent never guesses that replicas need not run.
          --runtime KIND      command: run --start-command for each replica (the default when it is given)
                              kubernetes: create a pod per replica on this node (see below)
                              simulated: start nothing; a replica reports ready after --load-seconds
                              (demos and tests; the default when only --load-seconds is given)
          --load-seconds N    simulated load time in seconds, 0 to {MaxLoadSeconds} (default {SimulatedRuntimeOptions.DefaultLoadSeconds})
          --start-command CMD run by /bin/sh -c for each replica, in the foreground for as long as the
                              replica runs (if it exits, the replica has failed); it finds the replica in
                              {CommandReplicaRuntime.ReplicaIdVariable}, {CommandReplicaRuntime.DeploymentIdVariable}, {CommandReplicaRuntime.ModelVariable},
                              {CommandReplicaRuntime.GpuIndicesVariable} and {CommandReplicaRuntime.CudaVisibleDevicesVariable} (e.g. 0,1)
          --ready-command CMD run every {CommandRuntimeOptions.DefaultReadyIntervalSeconds} s with the same variables until it exits 0: the replica is
                              then ready (without it: ready as soon as the start command runs)
          --stop-command CMD  run with the same variables to stop a replica, also after it failed
                              (default: SIGTERM to the start command's process group); whatever is
                              left of the replica {CommandRuntimeOptions.DefaultStopTimeoutSeconds} s later is killed
          (env {RuntimeVariable}, {StartCommandVariable}, {ReadyCommandVariable}, {StopCommandVariable})
          A dedicated replica may also serve shared requests of its model at a lower priority: its commands then
          see {CommandReplicaRuntime.SharedPriorityVariable}=low (start the engine with request priorities, e.g. vLLM's
          --scheduling-policy priority).

        Kubernetes (--runtime kubernetes): each replica is a pod on this node, created through the Kubernetes API
        with the agent's service account, owned by the agent's pod (deleted with it) and labelled
        {KubernetesPods.AgentUidLabel}=<the agent pod's uid>, so that an agent restarted in the same pod takes back the
        pods of the replicas it is still asked for and deletes the others. The pod runs the deployment's image with
        the replica's variables (as above, but the GPUs as {KubernetesPods.NvidiaVisibleDevicesVariable}, host indices, for the NVIDIA
        runtime; no {CommandReplicaRuntime.CudaVisibleDevicesVariable}), restartPolicy Never, and is ready once Kubernetes says it is Ready.
          --pod-name NAME     the agent's own pod (downward API metadata.name)        (env {PodNameVariable})
          --pod-uid UID       the agent's own pod uid (downward API metadata.uid)     (env {PodUidVariable})
          --kube-node NAME    the node the pods are pinned to (default: --node-id)     (env {KubeNodeVariable})
          --kube-namespace NS namespace of the pods (default: the service account's)  (env {KubeNamespaceVariable})
          --kube-api URL      API server (default https://${KubernetesServiceHostVariable}:${KubernetesServicePortVariable})  (env {KubeApiVariable})
          --kube-token-file PATH
                              bearer token, read for every call (default {KubernetesRuntimeOptions.DefaultTokenFile})
          --kube-ca-file PATH CA the API server's certificate must chain to (default .../ca.crt)
          --engine-image IMAGE
                              image for a deployment that names none (else such a replica fails)
          --engine-port N     the engine's port in its pod (default {KubernetesRuntimeOptions.DefaultEnginePort})
          --engine-ready-path PATH
                              readiness probe: HTTP GET on the engine port (default {KubernetesRuntimeOptions.DefaultReadyPath})
          --engine-sleep-path PATH, --engine-wake-path PATH
                              POSTed to the engine (pod IP, engine port) to put it to sleep and wake it,
                              e.g. /sleep?level=1 and /wake_up (vLLM); both are needed to sleep
          --pod-template FILE a JSON object added to every pod: "metadata" (labels, annotations), "spec"
                              (runtimeClassName, tolerations, volumes, ...) and "container" (resources,
                              volumeMounts, args, env, ...); the fields that make it a replica are the agent's
          --start-command CMD optional: the container runs it with /bin/sh -c (default: the image's entrypoint)
          (env {KubeTokenFileVariable}, {KubeCaFileVariable}, {EngineImageVariable}, {EnginePortVariable},
           {EngineReadyPathVariable}, {EngineSleepPathVariable}, {EngineWakePathVariable}, {PodTemplateVariable})

        Model weights: the agent reports which models' weights the node holds, so that replicas are placed where
        they load from local disk, and fetches the ones the server expects to need here.
          --model-cache DIR   the local model cache: one directory per model, named by the model id
                              (model org/name in DIR/org/name); a model counts once its directory
                              holds the file {ModelCacheDirectory.CompleteMarker}. Every heartbeat reports these models,
                              their sizes and the free room on DIR's filesystem
          --prefetch-command CMD
                              run by /bin/sh -c, in the background, for each model of the reply's
                              prefetch list that is not complete, one run at a time per model; it finds
                              the model in {CommandModelFetcher.ModelVariable} and the directory to fill in
                              {CommandModelFetcher.DirectoryVariable}, e.g. huggingface-cli download "$CONTROLPLANE_MODEL"
                              --local-dir "$CONTROLPLANE_MODEL_CACHE_DIR". When it exits 0 the agent writes
                              {ModelCacheDirectory.CompleteMarker}; otherwise the failure is reported and the model tried again
                              after 1 min, doubling up to 30 min
          --prefetch-seconds N
                              --runtime simulated: a prefetch only waits N s (0 to {MaxLoadSeconds}, default
                              {SimulatedModelFetcher.DefaultSeconds}), then marks the model complete; a simulated replica that
                              turns ready marks its model complete too
          (env {ModelCacheVariable}, {PrefetchCommandVariable})

        Sleeping replicas: a dedicated or serverless replica (not batch) that was ready when the server stopped listing it
        can be put to sleep instead of stopped: its engine keeps running with its weights in host memory and gives
        the GPUs' memory back (e.g. vLLM's sleep mode), so other work runs there; a new replica of the same
        deployment on exactly its GPUs then wakes it (seconds) instead of loading the model (minutes).
          --sleep-budget-gb N host memory, in GiB, that the weights of sleeping engines may take together (0 to
                              {MaxSleepBudgetGiB}, default 0: never sleep). A replica's weights count as its model's size in
                              --model-cache (needed); a model not complete there is stopped, not slept. To fit a
                              new sleeper the least recently slept engines are stopped; one larger than the
                              budget is stopped. Sleeping engines are stopped when the agent exits
          --sleep-command CMD run with the replica's variables to put its engine to sleep; exits 0 once it
                              sleeps (else, or after {CommandRuntimeOptions.DefaultSleepTimeoutSeconds} s, the replica is stopped), e.g.
                              curl -fsS -X POST "http://localhost:$PORT/sleep?level=1"
          --wake-command CMD  run with the sleeping engine's variables plus {CommandReplicaRuntime.WakeReplicaIdVariable} (the new
                              replica's id) to wake it; exits 0 once it serves (else, or after {CommandRuntimeOptions.DefaultWakeTimeoutSeconds} s,
                              the replica has failed). A woken engine's commands keep the variables it was started
                              with. --runtime command needs both to sleep
          --simulated-wake-seconds N
                              --runtime simulated: a replica falls asleep at once and wakes after N s (0 to
                              {MaxLoadSeconds}, default {SimulatedRuntimeOptions.DefaultWakeSeconds})
          (env {SleepBudgetVariable}, {SleepCommandVariable}, {WakeCommandVariable})

        Command-line values win over environment variables.
        """;

    private const int MaxLoadSeconds = 3600;

    /// <summary>Equal when every value is, the servers compared in order.</summary>
    public bool Equals(AgentOptions? other) =>
        other is not null
        && Servers.SequenceEqual(other.Servers)
        && (NodeId, Token, NvidiaSmiPath, RuntimeDirectory, Runtime, ModelCache, LivenessFile, SleepBudgetBytes, NodeTokenFile, JoinToken)
            == (other.NodeId, other.Token, other.NvidiaSmiPath, other.RuntimeDirectory, other.Runtime, other.ModelCache, other.LivenessFile, other.SleepBudgetBytes, other.NodeTokenFile, other.JoinToken);

    public override int GetHashCode() => HashCode.Combine(Servers.Count > 0 ? Servers[0] : null, NodeId, Token, NvidiaSmiPath, RuntimeDirectory, Runtime, ModelCache);

    /// <summary>The replica runtime's options that a unit file or a pod spec may set as environment variables instead.</summary>
    private static readonly (string Option, string Variable)[] RuntimeVariables =
    [
        ("--runtime", RuntimeVariable),
        ("--start-command", StartCommandVariable),
        ("--ready-command", ReadyCommandVariable),
        ("--stop-command", StopCommandVariable),
        ("--model-cache", ModelCacheVariable),
        ("--prefetch-command", PrefetchCommandVariable),
        ("--liveness-file", LivenessFileVariable),
        ("--sleep-budget-gb", SleepBudgetVariable),
        ("--sleep-command", SleepCommandVariable),
        ("--wake-command", WakeCommandVariable),
        ("--kube-api", KubeApiVariable),
        ("--kube-token-file", KubeTokenFileVariable),
        ("--kube-ca-file", KubeCaFileVariable),
        ("--kube-namespace", KubeNamespaceVariable),
        ("--kube-node", KubeNodeVariable),
        ("--pod-name", PodNameVariable),
        ("--pod-uid", PodUidVariable),
        ("--pod-template", PodTemplateVariable),
        ("--engine-image", EngineImageVariable),
        ("--engine-port", EnginePortVariable),
        ("--engine-ready-path", EngineReadyPathVariable),
        ("--engine-sleep-path", EngineSleepPathVariable),
        ("--engine-wake-path", EngineWakePathVariable),
    ];

    /// <summary>Options that only the Kubernetes runtime reads.</summary>
    private static readonly string[] KubernetesOptions =
    [
        "--kube-api", "--kube-token-file", "--kube-ca-file", "--kube-namespace", "--kube-node", "--pod-name", "--pod-uid", "--pod-template",
        "--engine-image", "--engine-port", "--engine-ready-path", "--engine-sleep-path", "--engine-wake-path",
    ];

    private static readonly HashSet<string> KnownOptions =
        [
            "--server", "--node-id", "--token", "--node-token-file", "--join-token", "--nvidia-smi", "--runtime-dir", "--runtime", "--load-seconds", "--start-command", "--ready-command", "--stop-command",
            "--model-cache", "--prefetch-command", "--prefetch-seconds", "--liveness-file",
            "--sleep-budget-gb", "--sleep-command", "--wake-command", "--simulated-wake-seconds",
            .. KubernetesOptions,
        ];

    /// <summary>Parses <paramref name="args"/>, falling back to the environment for server, node id and token.</summary>
    public static bool TryParse(
        IReadOnlyList<string> args,
        Func<string, string?> getEnvironmentVariable,
        [NotNullWhen(true)] out AgentOptions? options,
        [NotNullWhen(false)] out string? error)
    {
        options = null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var (name, value) = SplitArgument(args[i]);
            if (!KnownOptions.Contains(name))
            {
                error = $"unknown argument '{args[i]}'";
                return false;
            }

            if (value is null)
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    error = $"{name} needs a value";
                    return false;
                }

                value = args[++i];
            }

            if (name == "--server" && values.TryGetValue(name, out var earlier))
            {
                value = $"{earlier},{value}";
            }

            values[name] = value;
        }

        var server = Fallback(values.GetValueOrDefault("--server"), ServerVariable, getEnvironmentVariable);
        var nodeId = Fallback(values.GetValueOrDefault("--node-id"), NodeIdVariable, getEnvironmentVariable);
        var token = Fallback(values.GetValueOrDefault("--token"), TokenVariable, getEnvironmentVariable);
        var tokenFile = Fallback(values.GetValueOrDefault("--node-token-file"), NodeTokenFileVariable, getEnvironmentVariable);
        var joinToken = Fallback(values.GetValueOrDefault("--join-token"), JoinTokenVariable, getEnvironmentVariable);
        foreach (var (option, variable) in RuntimeVariables)
        {
            if (!values.ContainsKey(option) && Fallback(null, variable, getEnvironmentVariable) is { } fromEnvironment)
            {
                values[option] = fromEnvironment;
            }
        }

        var nvidiaSmi = values.GetValueOrDefault("--nvidia-smi");
        var runtimeDir = values.GetValueOrDefault("--runtime-dir");
        var livenessFile = values.GetValueOrDefault("--liveness-file");

        if (server is null)
        {
            error = $"missing --server (or {ServerVariable})";
            return false;
        }

        if (nodeId is null)
        {
            error = $"missing --node-id (or {NodeIdVariable})";
            return false;
        }

        error = (token, tokenFile, joinToken) switch
        {
            (null, null, null) => $"missing --token (or {TokenVariable}), or --node-token-file with --join-token",
            (null, null, _) => "--join-token needs --node-token-file: where the node's own token is kept",
            (not null, not null, _) => "give --token or --node-token-file, not both",
            (not null, _, not null) => "--join-token needs --node-token-file, not --token",
            _ => ValidatePath(tokenFile, "--node-token-file") ?? (joinToken is null ? null : ValidateToken(joinToken, "--join-token")),
        };
        if (error is not null)
        {
            return false;
        }

        RuntimeOptions? runtime = null;
        error = ValidateServers(server, out var servers) ?? ValidateNodeId(nodeId) ?? (token is null ? null : ValidateToken(token, "--token"))
            ?? ValidatePath(nvidiaSmi, "--nvidia-smi") ?? ValidatePath(runtimeDir, "--runtime-dir") ?? ValidatePath(livenessFile, "--liveness-file")
            ?? ParseRuntime(values, nodeId, getEnvironmentVariable, out runtime);
        if (error is not null || servers is null || runtime is null)
        {
            error ??= "invalid --server";
            return false;
        }

        error = ParseModelCache(values, runtime, out var modelCache);
        long sleepBudget = 0;
        error ??= ParseSleepBudget(values, runtime, modelCache, out sleepBudget);
        if (error is not null)
        {
            return false;
        }

        options = new AgentOptions(servers, nodeId, token, nvidiaSmi, runtimeDir, runtime, modelCache, livenessFile, sleepBudget, tokenFile, joinToken);
        return true;
    }

    private static string? ParseSleepBudget(Dictionary<string, string> values, RuntimeOptions runtime, ModelCacheOptions? modelCache, out long budgetBytes)
    {
        budgetBytes = 0;
        if (values.GetValueOrDefault("--sleep-budget-gb") is not { } text)
        {
            return null;
        }

        if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var gib) || gib is < 0 or > MaxSleepBudgetGiB)
        {
            return $"--sleep-budget-gb must be a number of GiB from 0 to {MaxSleepBudgetGiB}, got '{text}'";
        }

        budgetBytes = (long)decimal.Floor(gib * 1024 * 1024 * 1024);
        if (budgetBytes == 0)
        {
            return null;
        }

        if (runtime is CommandRuntimeOptions { CanSleep: false })
        {
            return "--sleep-budget-gb needs --sleep-command and --wake-command with --runtime command: without them an engine cannot sleep";
        }

        if (runtime is KubernetesRuntimeOptions { CanSleep: false })
        {
            return "--sleep-budget-gb needs --engine-sleep-path and --engine-wake-path with --runtime kubernetes: without them an engine cannot sleep";
        }

        // A sleeper's weights are counted against the budget by their size in the cache; without one nothing could sleep.
        return modelCache is null ? "--sleep-budget-gb needs --model-cache: the size of a model's weights there is what a sleeping engine holds" : null;
    }

    private static string? ParseModelCache(Dictionary<string, string> values, RuntimeOptions runtime, out ModelCacheOptions? modelCache)
    {
        modelCache = null;
        var directory = values.GetValueOrDefault("--model-cache");
        var command = values.GetValueOrDefault("--prefetch-command");
        var seconds = values.GetValueOrDefault("--prefetch-seconds");
        if ((ValidatePath(directory, "--model-cache") ?? ValidatePath(command, "--prefetch-command")) is { } empty)
        {
            return empty;
        }

        if (directory is null)
        {
            return command is not null ? "--prefetch-command needs --model-cache"
                : seconds is not null ? "--prefetch-seconds needs --model-cache"
                : null;
        }

        var simulated = runtime is SimulatedRuntimeOptions;
        if (command is not null && simulated)
        {
            return "--prefetch-command is only for --runtime command (the simulated runtime pretends: --prefetch-seconds)";
        }

        if (seconds is not null && !simulated)
        {
            return "--prefetch-seconds is only for --runtime simulated";
        }

        var fetchTime = TimeSpan.FromSeconds(SimulatedModelFetcher.DefaultSeconds);
        if (seconds is not null)
        {
            if (!double.TryParse(seconds, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var s) || s is not (>= 0 and <= MaxLoadSeconds))
            {
                return $"--prefetch-seconds must be a number of seconds from 0 to {MaxLoadSeconds}, got '{seconds}'";
            }

            fetchTime = TimeSpan.FromSeconds(s);
        }

        modelCache = new ModelCacheOptions(directory, command, simulated ? fetchTime : null);
        return null;
    }

    public static bool IsHelpRequested(IReadOnlyList<string> args) => args.Any(a => a is "-h" or "--help");

    private static (string Name, string? Value) SplitArgument(string arg)
    {
        var equals = arg.IndexOf('=', StringComparison.Ordinal);
        return arg.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? (arg[..equals], arg[(equals + 1)..]) : (arg, null);
    }

    private static string? Fallback(string? value, string variable, Func<string, string?> getEnvironmentVariable)
    {
        // Values that come from files (systemd EnvironmentFile, Kubernetes secrets) often end in a newline.
        var fromEnvironment = getEnvironmentVariable(variable)?.Trim();
        return string.IsNullOrEmpty(value) ? (string.IsNullOrEmpty(fromEnvironment) ? null : fromEnvironment) : value;
    }

    /// <summary>One or more URLs, comma-separated; each must be valid, a repeated one is kept once.</summary>
    private static string? ValidateServers(string list, out IReadOnlyList<Uri>? servers)
    {
        servers = null;
        var uris = new List<Uri>();
        foreach (var item in list.Split(',', StringSplitOptions.TrimEntries))
        {
            if (ValidateServer(item, out var uri) is { } error)
            {
                return error;
            }

            if (!uris.Contains(uri!))
            {
                uris.Add(uri!);
            }
        }

        servers = uris;
        return null;
    }

    private static string? ValidateServer(string server, out Uri? uri)
    {
        uri = null;
        if (!Uri.TryCreate(server, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
        {
            return $"--server must be an absolute http or https URL, got '{server}'";
        }

        // A trailing slash keeps a path prefix (https://host/controlplane/) when relative paths are appended.
        uri = parsed.AbsoluteUri.EndsWith('/') ? parsed : new Uri(parsed.AbsoluteUri + "/");
        return null;
    }

    private static string? ValidateNodeId(string nodeId) =>
        nodeId.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) ? $"--node-id must not contain spaces or control characters, got '{nodeId}'" : null;

    private static string? ValidateToken(string token, string name) =>
        token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) ? $"{name} must not contain spaces or control characters" : null;

    private static string? ValidatePath(string? path, string name) =>
        path is not null && path.Trim().Length == 0 ? $"{name} must not be empty" : null;

    private static string? ParseRuntime(Dictionary<string, string> values, string nodeId, Func<string, string?> getEnvironmentVariable, out RuntimeOptions? runtime)
    {
        runtime = null;
        var start = values.GetValueOrDefault("--start-command");
        var ready = values.GetValueOrDefault("--ready-command");
        var stop = values.GetValueOrDefault("--stop-command");
        var load = values.GetValueOrDefault("--load-seconds");
        var sleepCommand = values.GetValueOrDefault("--sleep-command");
        var wakeCommand = values.GetValueOrDefault("--wake-command");
        var wakeSeconds = values.GetValueOrDefault("--simulated-wake-seconds");
        var empty = ValidatePath(start, "--start-command") ?? ValidatePath(ready, "--ready-command") ?? ValidatePath(stop, "--stop-command")
            ?? ValidatePath(sleepCommand, "--sleep-command") ?? ValidatePath(wakeCommand, "--wake-command");
        if (empty is not null)
        {
            return empty;
        }

        // Running an engine takes a command. Without one the agent does not fall back to pretending: replicas that
        // report ready without running would be routed to and billed. A load time alone asks for a simulation.
        var explicitKind = values.GetValueOrDefault("--runtime");
        var kind = explicitKind ?? (start is not null ? "command" : load is not null ? "simulated" : null);
        if (kind is null)
        {
            return ready is not null ? "--ready-command needs --start-command"
                : stop is not null ? "--stop-command needs --start-command"
                : $"no replica runtime: give --start-command CMD (or {StartCommandVariable}), the engine to start for each replica, --runtime kubernetes to run a pod per replica, or --runtime simulated to only pretend (demos, tests)";
        }

        if (kind != "kubernetes" && KubernetesOptions.FirstOrDefault(values.ContainsKey) is { } kubernetesOnly)
        {
            return $"{kubernetesOnly} is only for --runtime kubernetes";
        }

        switch (kind)
        {
            case "kubernetes":
                var notForPods = ready is not null ? "--ready-command (a pod is ready when Kubernetes says so: --engine-ready-path)"
                    : stop is not null ? "--stop-command (a pod is stopped by deleting it)"
                    : sleepCommand is not null || wakeCommand is not null ? "--sleep-command and --wake-command (pods sleep and wake over HTTP: --engine-sleep-path, --engine-wake-path)"
                    : load is not null ? "--load-seconds"
                    : wakeSeconds is not null ? "--simulated-wake-seconds"
                    : null;
                if (notForPods is not null)
                {
                    return $"--runtime kubernetes does not take {notForPods}";
                }

                return ParseKubernetes(values, start, nodeId, getEnvironmentVariable, out runtime);

            case "command":
                if (start is null)
                {
                    return "--runtime command needs --start-command";
                }

                if (load is not null || wakeSeconds is not null)
                {
                    return $"{(load is not null ? "--load-seconds" : "--simulated-wake-seconds")} is only for --runtime simulated";
                }

                if ((sleepCommand is null) != (wakeCommand is null))
                {
                    return sleepCommand is null ? "--wake-command needs --sleep-command" : "--sleep-command needs --wake-command";
                }

                runtime = new CommandRuntimeOptions(start, stop, ready) { SleepCommand = sleepCommand, WakeCommand = wakeCommand };
                return null;

            case "simulated":
                var commandOption = start is not null ? "--start-command" : ready is not null ? "--ready-command" : stop is not null ? "--stop-command"
                    : sleepCommand is not null ? "--sleep-command" : wakeCommand is not null ? "--wake-command" : null;
                if (commandOption is not null)
                {
                    return explicitKind is null ? $"{commandOption} needs --start-command" : $"{commandOption} is only for --runtime command";
                }

                var loadTime = SimulatedRuntimeOptions.DefaultLoadTime;
                if (load is not null)
                {
                    if (!double.TryParse(load, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) || seconds is not (>= 0 and <= MaxLoadSeconds))
                    {
                        return $"--load-seconds must be a number of seconds from 0 to {MaxLoadSeconds}, got '{load}'";
                    }

                    loadTime = TimeSpan.FromSeconds(seconds);
                }

                var wakeTime = SimulatedRuntimeOptions.DefaultWakeTime;
                if (wakeSeconds is not null)
                {
                    if (!double.TryParse(wakeSeconds, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) || seconds is not (>= 0 and <= MaxLoadSeconds))
                    {
                        return $"--simulated-wake-seconds must be a number of seconds from 0 to {MaxLoadSeconds}, got '{wakeSeconds}'";
                    }

                    wakeTime = TimeSpan.FromSeconds(seconds);
                }

                runtime = new SimulatedRuntimeOptions(loadTime) { WakeTime = wakeTime };
                return null;

            default:
                return $"--runtime must be 'simulated', 'command' or 'kubernetes', got '{explicitKind}'";
        }
    }

    private static string? ParseKubernetes(Dictionary<string, string> values, string? start, string nodeId, Func<string, string?> getEnvironmentVariable, out RuntimeOptions? runtime)
    {
        runtime = null;
        var text = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var option in KubernetesOptions)
        {
            var value = values.GetValueOrDefault(option);
            if (ValidatePath(value, option) is { } empty)
            {
                return empty;
            }

            text[option] = value?.Trim();
        }

        if (text["--pod-name"] is not { } podName || text["--pod-uid"] is not { } podUid)
        {
            return $"--runtime kubernetes needs --pod-name and --pod-uid (or {PodNameVariable}, {PodUidVariable} from the downward API): the engine pods are owned by the agent's pod";
        }

        if (!IsDnsSubdomain(podName))
        {
            return $"--pod-name must be a Kubernetes object name, got '{podName}'";
        }

        if (podUid.Length > 63 || !podUid.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            return $"--pod-uid must be a pod uid (letters, digits and '-', at most 63), got '{podUid}'";
        }

        var node = text["--kube-node"] ?? nodeId;
        if (!IsDnsSubdomain(node))
        {
            return $"--kube-node must be a Kubernetes node name{(text["--kube-node"] is null ? " (it defaults to --node-id)" : "")}, got '{node}'";
        }

        if (text["--kube-namespace"] is { } ns && (ns.Length > 63 || !IsDnsSubdomain(ns) || ns.Contains('.', StringComparison.Ordinal)))
        {
            return $"--kube-namespace must be a namespace name, got '{ns}'";
        }

        Uri? api;
        if (text["--kube-api"] is { } apiText)
        {
            if (!Uri.TryCreate(apiText, UriKind.Absolute, out api) || api.Scheme is not ("http" or "https"))
            {
                return $"--kube-api must be an absolute http or https URL, got '{apiText}'";
            }
        }
        else if (getEnvironmentVariable(KubernetesServiceHostVariable)?.Trim() is { Length: > 0 } host)
        {
            var port = getEnvironmentVariable(KubernetesServicePortVariable)?.Trim() is { Length: > 0 } p ? p : "443";
            var hostPart = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
            if (!Uri.TryCreate($"https://{hostPart}:{port}/", UriKind.Absolute, out api))
            {
                return $"cannot make an API address of {KubernetesServiceHostVariable}='{host}' and {KubernetesServicePortVariable}='{port}'";
            }
        }
        else
        {
            return $"--runtime kubernetes needs --kube-api URL outside a pod ({KubernetesServiceHostVariable} is not set)";
        }

        if (!api.AbsoluteUri.EndsWith('/'))
        {
            api = new Uri(api.AbsoluteUri + "/");
        }

        if (text["--engine-image"] is { } image && !ReplicaSpec.IsValidImage(image))
        {
            return $"--engine-image must be an image reference (letters, digits and . _ - / : @), got '{image}'";
        }

        var enginePort = KubernetesRuntimeOptions.DefaultEnginePort;
        if (text["--engine-port"] is { } portText && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out enginePort) || enginePort is < 1 || enginePort > 65535 - ReplicaSpec.MaxGpuIndex))
        {
            // A replica is reached on its node at this port plus its lowest GPU index.
            return $"--engine-port must be a port from 1 to {65535 - ReplicaSpec.MaxGpuIndex} (a replica is reached on its node at it plus its lowest GPU index), got '{portText}'";
        }

        foreach (var pathOption in new[] { "--engine-ready-path", "--engine-sleep-path", "--engine-wake-path" })
        {
            if (text[pathOption] is { } path && (!path.StartsWith('/') || path.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
            {
                return $"{pathOption} must be an absolute path without spaces, e.g. /health, got '{path}'";
            }
        }

        if ((text["--engine-sleep-path"] is null) != (text["--engine-wake-path"] is null))
        {
            return text["--engine-sleep-path"] is null ? "--engine-wake-path needs --engine-sleep-path" : "--engine-sleep-path needs --engine-wake-path";
        }

        runtime = new KubernetesRuntimeOptions(
            api,
            text["--kube-token-file"] ?? KubernetesRuntimeOptions.DefaultTokenFile,
            text["--kube-ca-file"] ?? KubernetesRuntimeOptions.DefaultCaFile,
            KubernetesRuntimeOptions.DefaultNamespaceFile,
            podName,
            podUid,
            node)
        {
            Namespace = text["--kube-namespace"],
            DefaultImage = text["--engine-image"],
            StartCommand = start,
            EnginePort = enginePort,
            ReadyPath = text["--engine-ready-path"] ?? KubernetesRuntimeOptions.DefaultReadyPath,
            SleepPath = text["--engine-sleep-path"],
            WakePath = text["--engine-wake-path"],
            PodTemplateFile = text["--pod-template"],
        };
        return null;
    }

    /// <summary>A Kubernetes object name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253.</summary>
    private static bool IsDnsSubdomain(string name) =>
        name.Length is > 0 and <= 253
        && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1])
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.');
}
