using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ControlPlane.NodeAgent.Replicas.Kubernetes;

/// <summary>The engine pod of a replica, as the agent writes it, and what a pod's status says of its replica.</summary>
internal static class KubernetesPods
{
    public const string ContainerName = "engine";

    /// <summary>On every engine pod: the uid of the agent's pod, which finds them again after the agent's container restarts.</summary>
    public const string AgentUidLabel = "controlplane.io/agent-uid";

    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ManagedBy = "controlplane-node-agent";
    public const string ComponentLabel = "app.kubernetes.io/component";
    public const string Component = "inference-engine";

    /// <summary>Annotations carry what need not fit a label value's rules (a replica id, a model name with '/').</summary>
    public const string ReplicaIdAnnotation = "controlplane.io/replica-id";
    public const string DeploymentIdAnnotation = "controlplane.io/deployment-id";
    public const string ModelAnnotation = "controlplane.io/model";
    public const string GpuIndicesAnnotation = "controlplane.io/gpu-indices";

    /// <summary>Read by the NVIDIA container runtime: the host GPUs (nvidia-smi indices) it exposes to the engine container.</summary>
    public const string NvidiaVisibleDevicesVariable = "NVIDIA_VISIBLE_DEVICES";
    public const string NvidiaDriverCapabilitiesVariable = "NVIDIA_DRIVER_CAPABILITIES";
    public const string EnginePortVariable = "CONTROLPLANE_ENGINE_PORT";

    /// <summary>How many GPUs the engine has, e.g. for vLLM's <c>--tensor-parallel-size $(CONTROLPLANE_GPU_COUNT)</c> in the template's args.</summary>
    public const string GpuCountVariable = "CONTROLPLANE_GPU_COUNT";

    /// <summary>Variables the agent sets in the engine container; a pod template may not.</summary>
    public static readonly string[] OwnedVariables =
    [
        CommandReplicaRuntime.ReplicaIdVariable, CommandReplicaRuntime.DeploymentIdVariable, CommandReplicaRuntime.ModelVariable,
        CommandReplicaRuntime.GpuIndicesVariable, CommandReplicaRuntime.SharedPriorityVariable, CommandReplicaRuntime.CudaVisibleDevicesVariable,
        NvidiaVisibleDevicesVariable, NvidiaDriverCapabilitiesVariable, EnginePortVariable, GpuCountVariable,
    ];

    /// <summary>Waiting reasons from which a container with <c>restartPolicy: Never</c> does not come back by itself.</summary>
    private static readonly string[] FatalWaitingReasons =
    [
        "CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
        "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
    ];

    /// <summary>
    /// The pod's name: readable (from the replica id) and the same in every agent process, so that a restarted agent
    /// finds the pod of a replica it is asked for again; a hash of the whole id keeps two ids from sharing a name.
    /// </summary>
    public static string PodName(string replicaId)
    {
        var readable = new StringBuilder();
        foreach (var c in replicaId.ToLowerInvariant())
        {
            var keep = char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) ? c : '-';
            if (keep != '-' || (readable.Length > 0 && readable[^1] != '-'))
            {
                readable.Append(keep);
            }
        }

        var stem = readable.ToString(0, Math.Min(readable.Length, 40)).Trim('-');
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(replicaId)))[..10];
        return stem.Length == 0 ? $"engine-{hash}" : $"engine-{stem}-{hash}";
    }

    /// <summary>
    /// The node's port a replica's engine is reached on from outside its pod (the gateway): <c>--engine-port</c> plus the
    /// replica's lowest GPU index.
    /// </summary>
    public static int HostPort(ReplicaSpec spec, KubernetesRuntimeOptions options) => options.EnginePort + (spec.GpuIndices.Count == 0 ? 0 : spec.GpuIndices.Min());

    /// <summary>The label selector of the pods that the agent's pod <paramref name="agentUid"/> owns.</summary>
    public static string Selector(string agentUid) => $"{AgentUidLabel}={agentUid}";

    /// <summary>The engine pod of <paramref name="spec"/>, running <paramref name="image"/> on the agent's node.</summary>
    public static JsonObject Build(ReplicaSpec spec, string image, KubernetesRuntimeOptions options, KubernetesPodTemplate template, string @namespace)
    {
        var labels = CopyObject(template.Metadata["labels"]);
        labels[ManagedByLabel] = ManagedBy;
        labels[ComponentLabel] = Component;
        labels[AgentUidLabel] = options.PodUid;

        var annotations = CopyObject(template.Metadata["annotations"]);
        annotations[ReplicaIdAnnotation] = spec.ReplicaId;
        annotations[DeploymentIdAnnotation] = spec.DeploymentId;
        annotations[ModelAnnotation] = spec.Model;
        annotations[GpuIndicesAnnotation] = spec.GpuList;

        var container = new JsonObject
        {
            // Reached on the node's address like a replica of the command runtime: the engine port plus the replica's lowest GPU
            // index, distinct for every replica on the node (their GPUs are).
            ["ports"] = new JsonArray(new JsonObject
            {
                ["name"] = "http", ["containerPort"] = options.EnginePort, ["hostPort"] = HostPort(spec, options), ["protocol"] = "TCP",
            }),
            ["readinessProbe"] = new JsonObject
            {
                ["httpGet"] = new JsonObject { ["path"] = options.ReadyPath, ["port"] = options.EnginePort },
                ["periodSeconds"] = 5,
                ["timeoutSeconds"] = 5,
                ["failureThreshold"] = 3,
            },
        };
        foreach (var (field, value) in template.Container)
        {
            container[field] = value?.DeepClone();
        }

        container["name"] = ContainerName;
        container["image"] = image;
        if (options.StartCommand is { } command)
        {
            // The agent's start command, as the command runtime runs it: a shell line that reads the variables below.
            container["command"] = new JsonArray("/bin/sh", "-c", command);
        }

        var env = container["env"] is JsonArray templateEnv ? (JsonArray)templateEnv.DeepClone() : [];
        foreach (var (name, value) in EnvironmentOf(spec, options))
        {
            env.Add(new JsonObject { ["name"] = name, ["value"] = value });
        }

        container["env"] = env;

        var podSpec = new JsonObject
        {
            // An engine has no business with the API server, nor with the namespace's services.
            ["automountServiceAccountToken"] = false,
            ["enableServiceLinks"] = false,
            ["terminationGracePeriodSeconds"] = (long)options.StopTimeout.TotalSeconds,
        };
        foreach (var (field, value) in template.Spec)
        {
            podSpec[field] = value?.DeepClone();
        }

        // The kubelet of this node runs it without the scheduler; a failed engine is reported, not restarted: the
        // server decides where its replacement goes.
        podSpec["nodeName"] = options.NodeName;
        podSpec["restartPolicy"] = "Never";
        podSpec["containers"] = new JsonArray(container);

        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = PodName(spec.ReplicaId),
                ["namespace"] = @namespace,
                ["labels"] = labels,
                ["annotations"] = annotations,
                // Garbage-collected with the agent's pod. Without blockOwnerDeletion, which would need the agent to
                // update its own pod's finalizers (RBAC on pods/finalizers) for no gain: nothing waits on it.
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "Pod",
                    ["name"] = options.PodName,
                    ["uid"] = options.PodUid,
                    ["controller"] = true,
                }),
            },
            ["spec"] = podSpec,
        };
    }

    /// <summary>
    /// The engine container's variables: those of the command runtime, except <c>CUDA_VISIBLE_DEVICES</c> (inside the
    /// container the exposed GPUs are numbered from 0, so the host's indices would name the wrong ones), plus the
    /// NVIDIA runtime's device list.
    /// </summary>
    public static IReadOnlyList<(string Name, string Value)> EnvironmentOf(ReplicaSpec spec, KubernetesRuntimeOptions options)
    {
        var variables = CommandReplicaRuntime.EnvironmentOf(spec)
            .Where(v => v.Key != CommandReplicaRuntime.CudaVisibleDevicesVariable)
            .OrderBy(v => v.Key, StringComparer.Ordinal)
            .Select(v => (v.Key, v.Value))
            .ToList();
        variables.Add((EnginePortVariable, options.EnginePort.ToString(CultureInfo.InvariantCulture)));
        variables.Add((GpuCountVariable, spec.GpuIndices.Count.ToString(CultureInfo.InvariantCulture)));
        variables.Add((NvidiaVisibleDevicesVariable, spec.GpuList));
        variables.Add((NvidiaDriverCapabilitiesVariable, "compute,utility"));
        return variables;
    }

    /// <summary>What the pod's status says of its replica: ready once the pod is Ready, failed once its engine cannot come back.</summary>
    public static ReplicaStatus StatusOf(JsonObject pod)
    {
        var name = Text(pod["metadata"]?["name"]) ?? "(unnamed)";
        if (pod["metadata"]?["deletionTimestamp"] is not null)
        {
            return ReplicaStatus.Failed($"pod {name} is being deleted (not by this agent)");
        }

        var status = pod["status"] as JsonObject;
        var phase = Text(status?["phase"]);
        var engine = status?["containerStatuses"] is JsonArray containers
            ? containers.OfType<JsonObject>().FirstOrDefault(c => Text(c["name"]) == ContainerName)
            : null;
        var terminated = engine?["state"]?["terminated"] as JsonObject;
        switch (phase)
        {
            case "Failed":
                return ReplicaStatus.Failed($"pod {name} failed{Explain(status?["reason"], status?["message"])}{Exited(terminated)}");
            case "Succeeded":
                return ReplicaStatus.Failed($"pod {name}: the engine exited{Exited(terminated)}");
        }

        if (terminated is not null)
        {
            // The kubelet reports the container before the pod's phase follows.
            return ReplicaStatus.Failed($"pod {name}: the engine exited{Exited(terminated)}");
        }

        if (engine?["state"]?["waiting"] is JsonObject waiting && Text(waiting["reason"]) is { } reason && FatalWaitingReasons.Contains(reason))
        {
            return ReplicaStatus.Failed($"pod {name}: the engine container is waiting{Explain(reason, waiting["message"])}");
        }

        var ready = status?["conditions"] is JsonArray conditions
            && conditions.OfType<JsonObject>().Any(c => Text(c["type"]) == "Ready" && Text(c["status"]) == "True");
        return phase == "Running" && ready ? ReplicaStatus.Ready : ReplicaStatus.Starting;
    }

    /// <summary>The pod's IP address once it has one: where the agent reaches its engine to put it to sleep and wake it.</summary>
    public static string? PodIp(JsonObject pod) => Text(pod["status"]?["podIP"]);

    /// <summary>The replica id the pod was created for; null for a pod without it (not the agent's).</summary>
    public static string? ReplicaIdOf(JsonObject pod) => Text(pod["metadata"]?["annotations"]?[ReplicaIdAnnotation]);

    public static string? NameOf(JsonObject pod) => Text(pod["metadata"]?["name"]);

    /// <summary>Whether the pod is owned by the agent's pod <paramref name="agentUid"/>.</summary>
    public static bool IsOwnedBy(JsonObject pod, string agentUid) =>
        pod["metadata"]?["ownerReferences"] is JsonArray owners && owners.OfType<JsonObject>().Any(o => Text(o["uid"]) == agentUid);

    private static string Explain(JsonNode? reason, JsonNode? message) => (Text(reason), Text(message)) switch
    {
        (null, null) => "",
        ({ } r, null) => $": {r}",
        (null, { } m) => $": {m}",
        ({ } r, { } m) => $": {r}: {m}",
    };

    private static string Explain(string reason, JsonNode? message) => Text(message) is { } m ? $": {reason}: {m}" : $": {reason}";

    private static string Exited(JsonObject? terminated)
    {
        if (terminated is null)
        {
            return "";
        }

        var code = terminated["exitCode"] is JsonValue value && value.TryGetValue<int>(out var exitCode) ? exitCode.ToString(CultureInfo.InvariantCulture) : "?";
        return $" (exit code {code}{(Text(terminated["reason"]) is { } r ? $", {r}" : "")})";
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private static JsonObject CopyObject(JsonNode? node) => node is JsonObject o ? (JsonObject)o.DeepClone() : [];
}
