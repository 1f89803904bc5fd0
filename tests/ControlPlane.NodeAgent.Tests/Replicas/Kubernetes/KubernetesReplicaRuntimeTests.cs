using System.Net;
using System.Text.Json.Nodes;
using ControlPlane.NodeAgent.Heartbeats;
using ControlPlane.NodeAgent.Replicas;
using ControlPlane.NodeAgent.Replicas.Kubernetes;
using ControlPlane.NodeAgent.Tests.Support;

namespace ControlPlane.NodeAgent.Tests.Replicas.Kubernetes;

/// <summary>
/// The Kubernetes runtime's life cycle against a fake API server on loopback (real HTTP): the test plays the kubelet by
/// setting the pods' status.
/// </summary>
public sealed class KubernetesReplicaRuntimeTests : IAsyncDisposable
{
    private const string AgentUid = "6f1c2f0e-7b7a-4c1e-9d55-0d7b1f0c9a11";

    private static readonly ReplicaSpec Spec = new("dep.0.cafe", "dep", "org/model", [0, 1], Tier: "reserved", Image: "vllm/vllm-openai:v0.11.0");

    private readonly FakeKubernetesApi _server = FakeKubernetesApi.Start();
    private readonly ScratchDirectory _scratch = new();
    private readonly LogCapture _log = new();
    private readonly List<IReplica> _started = [];
    private readonly string _tokenFile;

    public KubernetesReplicaRuntimeTests()
    {
        _tokenFile = _scratch.WriteFile("token", "token-1\n");
    }

    private string PodName => KubernetesPods.PodName(Spec.ReplicaId);

    [Fact]
    public async Task Start_Replica_CreatesItsPodWithTheServiceAccountToken()
    {
        Start(CreateRuntime(), Spec);

        await Poll.UntilAsync(() => _server.Pod(PodName) is not null, "the pod to be created");

        var create = Assert.Single(_server.Requests, r => r.Method == "POST");
        Assert.Equal("/api/v1/namespaces/gpu/pods", create.PathAndQuery);
        Assert.Equal("Bearer token-1", create.Authorization);
        var pod = _server.Pod(PodName)!;
        Assert.Equal("gpu-node-17", pod["spec"]!["nodeName"]!.GetValue<string>());
        Assert.Equal("vllm/vllm-openai:v0.11.0", pod["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal(AgentUid, pod["metadata"]!["ownerReferences"]![0]!["uid"]!.GetValue<string>());
    }

    [Fact]
    public async Task Status_PodTurnsReady_ReplicaTurnsReady()
    {
        var replica = Start(CreateRuntime(), Spec);
        await Poll.UntilAsync(() => _server.Pod(PodName) is not null, "the pod to be created");

        _server.SetStatus(PodName, FakeKubernetesApi.Running(ready: false));
        await Poll.UntilAsync(() => _server.Requests.Count(r => r.Method == "GET") >= 2, "the pod to be read");
        Assert.Equal(ReplicaStatus.Starting, replica.Status);

        _server.SetStatus(PodName, FakeKubernetesApi.Running(ready: true));
        await Poll.UntilAsync(() => replica.Status == ReplicaStatus.Ready, "the replica to turn ready");
    }

    [Fact]
    public async Task Status_TokenRotated_NextCallsCarryTheNewToken()
    {
        Start(CreateRuntime(), Spec);
        await Poll.UntilAsync(() => _server.Pod(PodName) is not null, "the pod to be created");

        File.WriteAllText(_tokenFile, "token-2\n");

        await Poll.UntilAsync(() => _server.Requests.Any(r => r.Authorization == "Bearer token-2"), "a call with the rotated token");
    }

    [Fact]
    public async Task Status_PodFailed_ReplicaFailedWithTheReason()
    {
        var replica = Start(CreateRuntime(), Spec);
        await Poll.UntilAsync(() => _server.Pod(PodName) is not null, "the pod to be created");

        _server.SetStatus(PodName, new JsonObject
        {
            ["phase"] = "Failed",
            ["containerStatuses"] = new JsonArray(new JsonObject
            {
                ["name"] = "engine",
                ["state"] = new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = 1, ["reason"] = "Error" } },
            }),
        });

        await Poll.UntilAsync(() => replica.Status.State == ReplicaState.Failed, "the replica to fail");
        Assert.Equal($"pod {PodName} failed (exit code 1, Error)", replica.Status.Failure);
    }

    [Fact]
    public async Task Status_CrashLoopBackOff_ReplicaFailed()
    {
        var replica = Start(CreateRuntime(), Spec);
        await Poll.UntilAsync(() => _server.Pod(PodName) is not null, "the pod to be created");

        _server.SetStatus(PodName, new JsonObject
        {
            ["phase"] = "Running",
            ["containerStatuses"] = new JsonArray(new JsonObject
            {
                ["name"] = "engine",
                ["state"] = new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "CrashLoopBackOff", ["message"] = "back-off 10s restarting failed container" } },
            }),
        });

        await Poll.UntilAsync(() => replica.Status.State == ReplicaState.Failed, "the replica to fail");
        Assert.Contains("CrashLoopBackOff", replica.Status.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_ReadyPodDeletedOutsideTheAgent_ReplicaFailed()
    {
        var replica = Start(CreateRuntime(), Spec);
        await Poll.UntilAsync(() => _server.Pod(PodName) is not null, "the pod to be created");
        _server.SetStatus(PodName, FakeKubernetesApi.Running(ready: true));
        await Poll.UntilAsync(() => replica.Status == ReplicaStatus.Ready, "the replica to turn ready");

        _server.Remove(PodName);

        await Poll.UntilAsync(() => replica.Status.State == ReplicaState.Failed, "the replica to fail");
        Assert.Contains("is gone", replica.Status.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_ApiRefusesTheCreate_ReplicaFailedWithTheApisMessage()
    {
        _server.RefuseCreate = HttpStatusCode.Forbidden;

        var replica = Start(CreateRuntime(), Spec);

        await Poll.UntilAsync(() => replica.Status.State == ReplicaState.Failed, "the replica to fail");
        Assert.Contains("403", replica.Status.Failure, StringComparison.Ordinal);
        Assert.Contains("cannot create resource", replica.Status.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_NoImageAnywhere_FailsWithoutCallingTheApi()
    {
        var replica = Start(CreateRuntime(), Spec with { Image = null });

        Assert.Equal(ReplicaState.Failed, replica.Status.State);
        Assert.Contains("no engine image", replica.Status.Failure, StringComparison.Ordinal);
        await replica.StopAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task Start_DeploymentWithoutImage_UsesTheAgentsDefault()
    {
        Start(CreateRuntime(o => o with { DefaultImage = "registry.example.net/engine:1" }), Spec with { Image = null });

        await Poll.UntilAsync(() => _server.Pod(PodName) is not null, "the pod to be created");
        Assert.Equal("registry.example.net/engine:1", _server.Pod(PodName)!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    [Fact]
    public async Task StopAsync_DeletesThePodAndWaitsUntilItIsGone()
    {
        var replica = Start(CreateRuntime(), Spec);
        await Poll.UntilAsync(() => _server.Pod(PodName) is not null, "the pod to be created");
        _server.SetStatus(PodName, FakeKubernetesApi.Running(ready: true));
        await Poll.UntilAsync(() => replica.Status == ReplicaStatus.Ready, "the replica to turn ready");
        _server.HoldDeletes = true;

        var stopped = replica.StopAsync();

        await Poll.UntilAsync(() => _server.Requests.Any(r => r.Method == "DELETE"), "the pod to be deleted");
        var delete = Assert.Single(_server.Requests, r => r.Method == "DELETE");
        Assert.Equal($"/api/v1/namespaces/gpu/pods/{PodName}?gracePeriodSeconds=10", delete.PathAndQuery);
        // Terminating: its engine may still hold GPU memory, so the stop is not done.
        await Poll.UntilAsync(() => _server.Requests.Count(r => r.Method == "GET" && r.PathAndQuery.EndsWith(PodName, StringComparison.Ordinal)) >= 4, "the stop to look at the pod");
        Assert.False(stopped.IsCompleted);

        _server.Remove(PodName);

        await stopped.WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
        Assert.Same(stopped, replica.StopAsync());
        Assert.Equal(ReplicaStatus.Ready, replica.Status);
    }

    [Fact]
    public async Task StopAsync_FailedReplica_DeletesItsPod()
    {
        var replica = Start(CreateRuntime(), Spec);
        await Poll.UntilAsync(() => _server.Pod(PodName) is not null, "the pod to be created");
        _server.SetStatus(PodName, new JsonObject { ["phase"] = "Failed", ["reason"] = "Evicted" });
        await Poll.UntilAsync(() => replica.Status.State == ReplicaState.Failed, "the replica to fail");

        await replica.StopAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);

        Assert.Null(_server.Pod(PodName));
    }

    [Fact]
    public async Task Restart_AgentStartsAgainInItsPod_TakesBackDesiredPodsAndDeletesTheOthers()
    {
        // An earlier agent process in this pod left three pods; one of another agent's pod shares the namespace.
        var earlier = CreateRuntime();
        var kept = Start(earlier, Spec);
        var left = Start(earlier, Spec with { ReplicaId = "dep.1.beef", GpuIndices = [2] });
        await Poll.UntilAsync(() => _server.PodNames.Count == 2, "the earlier process's pods");
        _server.SetStatus(PodName, FakeKubernetesApi.Running(ready: true));
        var stranger = KubernetesPods.Build(Spec with { ReplicaId = "other.0.f00d" }, "img", Options() with { PodUid = "another-agent", PodName = "agent-b" }, KubernetesPodTemplate.Empty, "gpu");
        _server.Put(stranger);
        var creates = _server.Requests.Count(r => r.Method == "POST");

        // The new process: its first heartbeat reply still wants dep.0.cafe only.
        var runtime = CreateRuntime();
        var supervisor = new ReplicaSupervisor(runtime, new AgentLog(_log, TimeProvider.System), TimeProvider.System);
        supervisor.Reconcile([new DesiredReplica(Spec.ReplicaId, Spec.DeploymentId, Spec.Model, [0, 1], null, "reserved", Spec.Image)]);

        await Poll.UntilAsync(() => supervisor.Report().SingleOrDefault() is { State: ReplicaState.Ready }, "the taken-back replica to report ready");
        await runtime.Swept.WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
        Assert.Equal([PodName, KubernetesPods.PodName("other.0.f00d")], _server.PodNames);
        Assert.Equal(creates + 1, _server.Requests.Count(r => r.Method == "POST"));
        Assert.Contains(_log.Lines, l => l.Contains($"took back pod {PodName}", StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.Contains($"deleting pod {KubernetesPods.PodName("dep.1.beef")}", StringComparison.Ordinal));
        Assert.False(supervisor.StopsReplicasOnExit);
        await Poll.UntilAsync(() => left.Status.State == ReplicaState.Failed, "the earlier process's view of the deleted pod");
        Assert.Same(kept.Spec, Spec);
        await supervisor.StopAllAsync(TestDeadline.Value);
    }

    [Fact]
    public async Task Start_NameHeldByTheReplacedAgentPodsEngine_WaitsForItThenCreatesItsOwn()
    {
        // The agent's pod was replaced (an upgrade): the old pod's engine is still being garbage-collected.
        var old = KubernetesPods.Build(Spec, "img", Options() with { PodUid = "replaced-agent-pod" }, KubernetesPodTemplate.Empty, "gpu");
        old["metadata"]!["deletionTimestamp"] = "2026-01-01T00:00:00Z";
        _server.Put(old);

        var replica = Start(CreateRuntime(), Spec);

        await Poll.UntilAsync(() => _log.Lines.Any(l => l.Contains($"waits for pod {PodName} (being deleted)", StringComparison.Ordinal)), "the replica to wait");
        Assert.Equal(ReplicaStatus.Starting, replica.Status);

        _server.Remove(PodName);

        await Poll.UntilAsync(() => _server.Pod(PodName) is { } pod && KubernetesPods.IsOwnedBy(pod, AgentUid), "the replica's own pod");
        _server.SetStatus(PodName, FakeKubernetesApi.Running(ready: true));
        await Poll.UntilAsync(() => replica.Status == ReplicaStatus.Ready, "the replica to turn ready");
    }

    [Fact]
    public async Task Start_NameHeldByAnotherPodThatStays_FailsAfterTheWait()
    {
        _server.Put(KubernetesPods.Build(Spec, "img", Options() with { PodUid = "another-agent" }, KubernetesPodTemplate.Empty, "gpu"));

        var replica = Start(CreateRuntime(o => o with { NameWait = TimeSpan.FromMilliseconds(100) }), Spec);

        await Poll.UntilAsync(() => replica.Status.State == ReplicaState.Failed, "the replica to fail");
        Assert.Equal($"pod {PodName} exists (owned by another pod) and was not gone within 0.1 s", replica.Status.Failure);

        await replica.StopAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);

        Assert.False(KubernetesPods.IsOwnedBy(_server.Pod(PodName)!, AgentUid));
        Assert.DoesNotContain(_server.Requests, r => r.Method == "DELETE");
    }

    [Fact]
    public async Task Sleep_ReadyEngine_PostsToItsSleepPathThenWakesIt()
    {
        var runtime = CreateRuntime(o => o with { SleepPath = "/sleep?level=1", WakePath = "/wake_up", EnginePort = _server.Port });
        Assert.True(runtime.CanSleep);
        var replica = Start(runtime, Spec);
        await Poll.UntilAsync(() => _server.Pod(PodName) is not null, "the pod to be created");
        _server.SetStatus(PodName, FakeKubernetesApi.Running(ready: true, podIp: "127.0.0.1"));
        await Poll.UntilAsync(() => replica.Status == ReplicaStatus.Ready, "the replica to turn ready");

        Assert.True(await replica.SleepAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken));
        Assert.Contains(_server.Requests, r => r is { Method: "POST", PathAndQuery: "/sleep?level=1" });

        var woken = replica.Wake(Spec with { ReplicaId = "dep.0.d00d" });

        await Poll.UntilAsync(() => woken.Status == ReplicaStatus.Ready, "the woken replica to be ready");
        Assert.Contains(_server.Requests, r => r is { Method: "POST", PathAndQuery: "/wake_up" });
        Assert.Equal("dep.0.d00d", woken.Spec.ReplicaId);
        Assert.Single(_server.PodNames);
    }

    [Fact]
    public async Task Sleep_EngineRefuses_FalseSoTheSupervisorStopsIt()
    {
        var runtime = CreateRuntime(o => o with { SleepPath = "/sleep", WakePath = "/wake_up", EnginePort = _server.Port });
        var replica = Start(runtime, Spec);
        await Poll.UntilAsync(() => _server.Pod(PodName) is not null, "the pod to be created");
        _server.SetStatus(PodName, FakeKubernetesApi.Running(ready: true));
        await Poll.UntilAsync(() => replica.Status == ReplicaStatus.Ready, "the replica to turn ready");
        _server.EngineAnswer = HttpStatusCode.NotFound;

        Assert.False(await replica.SleepAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken));
        Assert.Contains(_log.Lines, l => l.Contains("answered 404", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Status_ApiAnswersNotJson_ReplicaKeepsItsStateAndStillStops()
    {
        var replica = Start(CreateRuntime(), Spec);
        await Poll.UntilAsync(() => _server.Pod(PodName) is not null, "the pod to be created");
        _server.SetStatus(PodName, FakeKubernetesApi.Running(ready: true));
        await Poll.UntilAsync(() => replica.Status == ReplicaStatus.Ready, "the replica to turn ready");

        _server.GarbageGets = true;
        await Poll.UntilAsync(() => _log.Lines.Any(l => l.Contains("the answer is not JSON", StringComparison.Ordinal)), "the bad answer to be logged");

        Assert.Equal(ReplicaStatus.Ready, replica.Status);
        _server.GarbageGets = false;
        await replica.StopAsync().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
        Assert.Null(_server.Pod(PodName));
    }

    [Fact]
    public async Task Create_NamespaceAndTemplateFromFiles_PodsCarryThem()
    {
        var namespaceFile = _scratch.WriteFile("namespace", "gpu\n");
        var templateFile = _scratch.WriteFile("template.json", """{"spec":{"runtimeClassName":"nvidia"},"container":{"resources":{"limits":{"memory":"64Gi"}}}}""");

        Start(CreateRuntime(o => o with { Namespace = null, NamespaceFile = namespaceFile, PodTemplateFile = templateFile }), Spec);

        await Poll.UntilAsync(() => _server.Pod(PodName) is not null, "the pod to be created");
        var pod = _server.Pod(PodName)!;
        Assert.Equal("gpu", pod["metadata"]!["namespace"]!.GetValue<string>());
        Assert.Equal("nvidia", pod["spec"]!["runtimeClassName"]!.GetValue<string>());
        Assert.Equal("64Gi", pod["spec"]!["containers"]![0]!["resources"]!["limits"]!["memory"]!.GetValue<string>());
    }

    [Fact]
    public void Create_BadTemplateOrArgsWithAStartCommand_Refused()
    {
        var owned = _scratch.WriteFile("owned.json", """{"spec":{"nodeName":"elsewhere"}}""");
        var args = _scratch.WriteFile("args.json", """{"container":{"args":["x"]}}""");

        var e = Assert.Throws<InvalidDataException>(() => CreateRuntime(o => o with { PodTemplateFile = owned }));
        Assert.Equal($"{owned}: spec.nodeName is set by the agent", e.Message);
        Assert.Throws<InvalidDataException>(() => CreateRuntime(o => o with { PodTemplateFile = args, StartCommand = "vllm serve" }));
        Assert.Throws<FileNotFoundException>(() => CreateRuntime(o => o with { Namespace = null, NamespaceFile = Path.Combine(_scratch.Path, "none") }));
    }

    [Fact]
    public void CanSleep_WithoutSleepAndWakePaths_False()
    {
        Assert.False(CreateRuntime().CanSleep);
    }

    public async ValueTask DisposeAsync()
    {
        _server.HoldDeletes = false;
        await Task.WhenAll(_started.Select(r => r.StopAsync())).WaitAsync(TestDeadline.Value);
        await _server.DisposeAsync();
        _scratch.Dispose();
    }

    private KubernetesRuntimeOptions Options() =>
        new(_server.BaseAddress, _tokenFile, CaFile: null, NamespaceFile: "/nonexistent", "controlplane-node-agent-x7k2p", AgentUid, "gpu-node-17")
        {
            Namespace = "gpu",
            PollInterval = TimeSpan.FromMilliseconds(20),
        };

    private KubernetesReplicaRuntime CreateRuntime(Func<KubernetesRuntimeOptions, KubernetesRuntimeOptions>? change = null) =>
        KubernetesReplicaRuntime.Create((change ?? (o => o))(Options()), new AgentLog(_log, TimeProvider.System), TimeProvider.System);

    private IReplica Start(KubernetesReplicaRuntime runtime, ReplicaSpec spec)
    {
        var replica = runtime.Start(spec);
        _started.Add(replica);
        return replica;
    }
}
