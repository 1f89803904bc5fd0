using System.Text.Json.Nodes;
using ControlPlane.NodeAgent.Replicas;
using ControlPlane.NodeAgent.Replicas.Kubernetes;

namespace ControlPlane.NodeAgent.Tests.Replicas.Kubernetes;

/// <summary>The engine pod the Kubernetes runtime asks for, field by field, and what a pod's status means for its replica.</summary>
public sealed class KubernetesPodsTests
{
    private static readonly ReplicaSpec Spec = new("acme-llama.1.0a1b2c3d", "acme-llama", "meta-llama/Llama-3.1-70B-Instruct", [3, 1], "low", "reserved", "vllm/vllm-openai:v0.11.0");

    private static readonly KubernetesRuntimeOptions Options = new(
        new Uri("https://10.96.0.1:443/"), "/token", "/ca.crt", "/namespace", "controlplane-node-agent-x7k2p", "6f1c2f0e-7b7a-4c1e-9d55-0d7b1f0c9a11", "gpu-node-17");

    [Fact]
    public void Build_Replica_IsPinnedToTheNodeOwnedByTheAgentAndLabelledForIt()
    {
        var pod = KubernetesPods.Build(Spec, Spec.Image!, Options, KubernetesPodTemplate.Empty, "gpu");

        Assert.Equal("v1", pod["apiVersion"]!.GetValue<string>());
        Assert.Equal("Pod", pod["kind"]!.GetValue<string>());
        var metadata = pod["metadata"]!;
        Assert.Equal(KubernetesPods.PodName(Spec.ReplicaId), metadata["name"]!.GetValue<string>());
        Assert.Equal("gpu", metadata["namespace"]!.GetValue<string>());
        Assert.Equal(
            """{"app.kubernetes.io/managed-by":"controlplane-node-agent","app.kubernetes.io/component":"inference-engine","controlplane.io/agent-uid":"6f1c2f0e-7b7a-4c1e-9d55-0d7b1f0c9a11"}""",
            metadata["labels"]!.ToJsonString());
        Assert.Equal(
            """{"controlplane.io/replica-id":"acme-llama.1.0a1b2c3d","controlplane.io/deployment-id":"acme-llama","controlplane.io/model":"meta-llama/Llama-3.1-70B-Instruct","controlplane.io/gpu-indices":"3,1"}""",
            metadata["annotations"]!.ToJsonString());
        Assert.Equal(
            """[{"apiVersion":"v1","kind":"Pod","name":"controlplane-node-agent-x7k2p","uid":"6f1c2f0e-7b7a-4c1e-9d55-0d7b1f0c9a11","controller":true}]""",
            metadata["ownerReferences"]!.ToJsonString());

        var spec = pod["spec"]!;
        Assert.Equal("gpu-node-17", spec["nodeName"]!.GetValue<string>());
        Assert.Equal("Never", spec["restartPolicy"]!.GetValue<string>());
        Assert.False(spec["automountServiceAccountToken"]!.GetValue<bool>());
        Assert.Equal(10, spec["terminationGracePeriodSeconds"]!.GetValue<long>());
        Assert.Null(spec["hostNetwork"]);
        var container = Assert.Single(spec["containers"]!.AsArray())!;
        Assert.Equal("engine", container["name"]!.GetValue<string>());
        Assert.Equal("vllm/vllm-openai:v0.11.0", container["image"]!.GetValue<string>());
        Assert.Null(container["command"]);
        Assert.Null(container["args"]);
        Assert.Null(container["resources"]);
        // Reached on the node at the engine port plus its lowest GPU (GPUs 3 and 1): distinct from every other replica there.
        Assert.Equal("""[{"name":"http","containerPort":8000,"hostPort":8001,"protocol":"TCP"}]""", container["ports"]!.ToJsonString());
        Assert.Equal("""{"path":"/health","port":8000}""", container["readinessProbe"]!["httpGet"]!.ToJsonString());
    }

    [Fact]
    public void Build_Replica_ExposesItsHostGpusToTheNvidiaRuntimeWithoutCudaVisibleDevices()
    {
        var pod = KubernetesPods.Build(Spec, Spec.Image!, Options, KubernetesPodTemplate.Empty, "gpu");

        var env = pod["spec"]!["containers"]![0]!["env"]!.AsArray().Select(e => (e!["name"]!.GetValue<string>(), e["value"]!.GetValue<string>())).ToArray();
        Assert.Equal(
            [
                ("CONTROLPLANE_DEPLOYMENT_ID", "acme-llama"),
                ("CONTROLPLANE_GPU_INDICES", "3,1"),
                ("CONTROLPLANE_MODEL", "meta-llama/Llama-3.1-70B-Instruct"),
                ("CONTROLPLANE_REPLICA_ID", "acme-llama.1.0a1b2c3d"),
                ("CONTROLPLANE_SHARED_PRIORITY", "low"),
                ("CONTROLPLANE_ENGINE_PORT", "8000"),
                ("CONTROLPLANE_GPU_COUNT", "2"),
                ("NVIDIA_VISIBLE_DEVICES", "3,1"),
                ("NVIDIA_DRIVER_CAPABILITIES", "compute,utility"),
            ],
            env);
        // The GPUs are the node's, claimed by the agent's pod: an engine pod asks Kubernetes for none (docs/deployment.md).
        Assert.DoesNotContain("nvidia.com/gpu", pod.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Build_StartCommand_RunsItWithTheShell()
    {
        var options = Options with { StartCommand = "exec vllm serve \"$CONTROLPLANE_MODEL\" --port \"$CONTROLPLANE_ENGINE_PORT\"", EnginePort = 8100, ReadyPath = "/v1/models" };

        var container = KubernetesPods.Build(Spec, "registry.example.net/vllm@sha256:abc", options, KubernetesPodTemplate.Empty, "gpu")["spec"]!["containers"]![0]!;

        Assert.Equal("""["/bin/sh","-c","exec vllm serve \u0022$CONTROLPLANE_MODEL\u0022 --port \u0022$CONTROLPLANE_ENGINE_PORT\u0022"]""", container["command"]!.ToJsonString());
        Assert.Equal("registry.example.net/vllm@sha256:abc", container["image"]!.GetValue<string>());
        Assert.Equal("""{"path":"/v1/models","port":8100}""", container["readinessProbe"]!["httpGet"]!.ToJsonString());
    }

    [Fact]
    public void Build_Template_AddsTheOperatorsFieldsAndKeepsTheAgents()
    {
        var template = KubernetesPodTemplate.Parse(
            """
            {
              "metadata": { "labels": { "team": "inference", "controlplane.io/agent-uid": "spoofed" }, "annotations": { "a": "b" } },
              "spec": {
                "runtimeClassName": "nvidia",
                "tolerations": [ { "key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule" } ],
                "volumes": [ { "name": "models", "hostPath": { "path": "/var/lib/models" } } ]
              },
              "container": {
                "args": [ "--model", "$(CONTROLPLANE_MODEL)" ],
                "resources": { "requests": { "cpu": "8", "memory": "64Gi" }, "limits": { "memory": "128Gi" } },
                "volumeMounts": [ { "name": "models", "mountPath": "/models", "readOnly": true } ],
                "env": [ { "name": "HF_HOME", "value": "/models" } ]
              }
            }
            """,
            "template.json");

        var pod = KubernetesPods.Build(Spec, Spec.Image!, Options, template, "gpu");

        Assert.Equal("inference", pod["metadata"]!["labels"]!["team"]!.GetValue<string>());
        Assert.Equal(Options.PodUid, pod["metadata"]!["labels"]![KubernetesPods.AgentUidLabel]!.GetValue<string>());
        Assert.Equal("b", pod["metadata"]!["annotations"]!["a"]!.GetValue<string>());
        var spec = pod["spec"]!;
        Assert.Equal("nvidia", spec["runtimeClassName"]!.GetValue<string>());
        Assert.Equal("""[{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}]""", spec["tolerations"]!.ToJsonString());
        Assert.Equal("gpu-node-17", spec["nodeName"]!.GetValue<string>());
        var container = spec["containers"]![0]!;
        Assert.Equal("""["--model","$(CONTROLPLANE_MODEL)"]""", container["args"]!.ToJsonString());
        Assert.Equal("""{"requests":{"cpu":"8","memory":"64Gi"},"limits":{"memory":"128Gi"}}""", container["resources"]!.ToJsonString());
        Assert.Equal("/models", container["volumeMounts"]![0]!["mountPath"]!.GetValue<string>());
        var names = container["env"]!.AsArray().Select(e => e!["name"]!.GetValue<string>()).ToArray();
        Assert.Equal("HF_HOME", names[0]);
        Assert.Contains("NVIDIA_VISIBLE_DEVICES", names);
    }

    [Theory]
    [InlineData("""{"spec":{"nodeName":"other"}}""", "spec.nodeName is set by the agent")]
    [InlineData("""{"spec":{"restartPolicy":"Always"}}""", "spec.restartPolicy is set by the agent")]
    [InlineData("""{"spec":{"containers":[]}}""", "spec.containers is set by the agent")]
    [InlineData("""{"container":{"image":"x"}}""", "container.image is set by the agent")]
    [InlineData("""{"container":{"env":[{"name":"NVIDIA_VISIBLE_DEVICES","value":"all"}]}}""", "container.env sets NVIDIA_VISIBLE_DEVICES, which the agent sets")]
    [InlineData("""{"container":{"env":[{"name":"CUDA_VISIBLE_DEVICES","value":"0"}]}}""", "container.env sets CUDA_VISIBLE_DEVICES")]
    [InlineData("""{"container":{"env":{"A":"b"}}}""", "container.env must be a list of objects")]
    [InlineData("""{"metadata":{"name":"x"}}""", "metadata.name cannot be set")]
    [InlineData("""{"pod":{}}""", "unknown key 'pod'")]
    [InlineData("""{"spec":[]}""", "spec must be an object")]
    [InlineData("""[]""", "must be a JSON object")]
    [InlineData("""{"spec":""", "not JSON")]
    public void Parse_BadTemplate_SaysWhatIsWrong(string json, string problem)
    {
        var e = Assert.Throws<InvalidDataException>(() => KubernetesPodTemplate.Parse(json, "template.json"));

        Assert.StartsWith("template.json: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PodName_ReplicaIds_AreStableValidAndDistinct()
    {
        string[] ids = ["acme-llama.1.0a1b2c3d", "acme-llama.1.0a1b2c3e", "ACME_llama.1.0a1b2c3d", "Ω", new string('x', 128)];

        var names = ids.Select(KubernetesPods.PodName).ToArray();

        Assert.Equal(names, ids.Select(KubernetesPods.PodName));
        Assert.Equal(ids.Length, names.Distinct().Count());
        Assert.StartsWith("engine-acme-llama-1-0a1b2c3d-", names[0], StringComparison.Ordinal);
        Assert.All(names, n => Assert.Matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", n));
        Assert.All(names, n => Assert.InRange(n.Length, 1, 63));
    }

    [Fact]
    public void StatusOf_PendingOrRunningNotReady_IsStarting()
    {
        Assert.Equal(ReplicaStatus.Starting, KubernetesPods.StatusOf(Pod(new JsonObject { ["phase"] = "Pending" })));
        Assert.Equal(ReplicaStatus.Starting, KubernetesPods.StatusOf(Pod(Support.FakeKubernetesApi.Running(ready: false))));
        Assert.Equal(ReplicaStatus.Starting, KubernetesPods.StatusOf(Pod(null)));
    }

    [Fact]
    public void StatusOf_RunningAndReady_IsReady()
    {
        Assert.Equal(ReplicaStatus.Ready, KubernetesPods.StatusOf(Pod(Support.FakeKubernetesApi.Running(ready: true))));
    }

    [Fact]
    public void StatusOf_PodFailed_IsFailedWithTheExitCode()
    {
        var status = KubernetesPods.StatusOf(Pod(new JsonObject
        {
            ["phase"] = "Failed",
            ["containerStatuses"] = new JsonArray(new JsonObject
            {
                ["name"] = "engine",
                ["state"] = new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = 137, ["reason"] = "OOMKilled" } },
            }),
        }));

        Assert.Equal(ReplicaStatus.Failed("pod engine-r1 failed (exit code 137, OOMKilled)"), status);
    }

    [Fact]
    public void StatusOf_RejectedByTheKubelet_IsFailedWithItsReason()
    {
        var status = KubernetesPods.StatusOf(Pod(new JsonObject { ["phase"] = "Failed", ["reason"] = "OutOfmemory", ["message"] = "Pod was rejected: Node didn't have enough resource: memory" }));

        Assert.Equal(ReplicaStatus.Failed("pod engine-r1 failed: OutOfmemory: Pod was rejected: Node didn't have enough resource: memory"), status);
    }

    [Theory]
    [InlineData("CrashLoopBackOff")]
    [InlineData("ImagePullBackOff")]
    [InlineData("ErrImagePull")]
    [InlineData("CreateContainerConfigError")]
    public void StatusOf_ContainerWaitingForGood_IsFailed(string reason)
    {
        var status = KubernetesPods.StatusOf(Pod(Waiting(reason)));

        Assert.Equal(ReplicaState.Failed, status.State);
        Assert.Equal($"pod engine-r1: the engine container is waiting: {reason}: back-off", status.Failure);
    }

    [Fact]
    public void StatusOf_ContainerCreating_IsStarting()
    {
        Assert.Equal(ReplicaStatus.Starting, KubernetesPods.StatusOf(Pod(Waiting("ContainerCreating"))));
    }

    [Fact]
    public void StatusOf_TerminatedBeforeThePhaseFollows_IsFailed()
    {
        var status = KubernetesPods.StatusOf(Pod(new JsonObject
        {
            ["phase"] = "Running",
            ["containerStatuses"] = new JsonArray(new JsonObject
            {
                ["name"] = "engine",
                ["state"] = new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = 1, ["reason"] = "Error" } },
            }),
        }));

        Assert.Equal(ReplicaStatus.Failed("pod engine-r1: the engine exited (exit code 1, Error)"), status);
    }

    [Fact]
    public void StatusOf_BeingDeleted_IsFailed()
    {
        var pod = Pod(Support.FakeKubernetesApi.Running(ready: true));
        pod["metadata"]!["deletionTimestamp"] = "2026-01-01T00:00:00Z";

        Assert.Equal(ReplicaState.Failed, KubernetesPods.StatusOf(pod).State);
    }

    private static JsonObject Waiting(string reason) => new()
    {
        ["phase"] = "Pending",
        ["containerStatuses"] = new JsonArray(new JsonObject
        {
            ["name"] = "engine",
            ["state"] = new JsonObject { ["waiting"] = new JsonObject { ["reason"] = reason, ["message"] = "back-off" } },
        }),
    };

    private static JsonObject Pod(JsonObject? status)
    {
        var pod = new JsonObject { ["metadata"] = new JsonObject { ["name"] = "engine-r1" } };
        if (status is not null)
        {
            pod["status"] = status;
        }

        return pod;
    }
}
