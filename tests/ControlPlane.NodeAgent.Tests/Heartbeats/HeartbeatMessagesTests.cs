using System.Text.Json;
using ControlPlane.NodeAgent.Gpus;
using ControlPlane.NodeAgent.Heartbeats;
using ControlPlane.NodeAgent.Replicas;

namespace ControlPlane.NodeAgent.Tests.Heartbeats;

public sealed class HeartbeatMessagesTests
{
    [Fact]
    public void Serialize_HeartbeatRequest_MatchesTheWireFormat()
    {
        var request = new HeartbeatRequest(
            1,
            Guid.Parse("6f1c2b7e-3d4a-4c55-9e8f-0a1b2c3d4e5f"),
            "1.0.0",
            InventoryError: null,
            [new GpuReport(0, "GPU-00a79cbc-6356-7dac-00e7-e799b0205aa2", "NVIDIA H200", 143771, 0, 0, 46, 82.55, 0)],
            Replicas: []);

        var json = JsonSerializer.Serialize(request, AgentJsonContext.Default.HeartbeatRequest);

        Assert.Equal(
            """{"sequence":1,"agentSessionId":"6f1c2b7e-3d4a-4c55-9e8f-0a1b2c3d4e5f","agentVersion":"1.0.0","inventoryError":null,"gpus":[{"index":0,"uuid":"GPU-00a79cbc-6356-7dac-00e7-e799b0205aa2","name":"NVIDIA H200","memoryTotalMiB":143771,"memoryUsedMiB":0,"utilizationPercent":0,"temperatureC":46,"powerWatts":82.55,"eccUncorrected":0}],"replicas":[]}""",
            json);
    }

    [Fact]
    public void Serialize_UnavailableMeasurements_WritesNulls()
    {
        var request = new HeartbeatRequest(
            2, Guid.Empty, "1.0.0", "nvidia-smi timed out", [new GpuReport(3, "GPU-x", "NVIDIA H100 80GB HBM3", null, null, null, null, null, null)], []);

        var json = JsonSerializer.Serialize(request, AgentJsonContext.Default.HeartbeatRequest);

        Assert.Contains(
            """{"index":3,"uuid":"GPU-x","name":"NVIDIA H100 80GB HBM3","memoryTotalMiB":null,"memoryUsedMiB":null,"utilizationPercent":null,"temperatureC":null,"powerWatts":null,"eccUncorrected":null}""",
            json,
            StringComparison.Ordinal);
        Assert.Contains("\"inventoryError\":\"nvidia-smi timed out\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Serialize_Replicas_WritesIdsAndLowerCaseStates()
    {
        var request = new HeartbeatRequest(
            3,
            Guid.Empty,
            "1.0.0",
            null,
            [],
            [new ReplicaReport("r1", ReplicaState.Starting), new ReplicaReport("r2", ReplicaState.Ready), new ReplicaReport("r3", ReplicaState.Failed)]);

        var json = JsonSerializer.Serialize(request, AgentJsonContext.Default.HeartbeatRequest);

        Assert.EndsWith(
            ""","gpus":[],"replicas":[{"replicaId":"r1","state":"starting"},{"replicaId":"r2","state":"ready"},{"replicaId":"r3","state":"failed"}]}""",
            json,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Serialize_ModelCache_WritesModelsRoomAndFailures()
    {
        var request = new HeartbeatRequest(
            4, Guid.Empty, "1.0.0", null, [], [],
            new ModelCacheReport(1_000, [new CachedModel("org/m", 42)], [new PrefetchFailureReport("x", 2, "exit 1")]));

        var json = JsonSerializer.Serialize(request, AgentJsonContext.Default.HeartbeatRequest);

        Assert.EndsWith(
            ""","replicas":[],"modelCache":{"freeBytes":1000,"models":[{"model":"org/m","bytes":42}],"prefetchFailures":[{"model":"x","attempts":2,"error":"exit 1"}]}}""",
            json,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Serialize_Sleeping_WritesEachEngineAndIsLeftOutWhenNull()
    {
        var sleeping = new HeartbeatRequest(4, Guid.Empty, "1.0.0", null, [], [], Sleeping: [new SleepingReport("dep-1", "org/m", [0, 1], 42)], SleepBudgetBytes: 1_000);
        var none = new HeartbeatRequest(4, Guid.Empty, "1.0.0", null, [], []);

        var json = JsonSerializer.Serialize(sleeping, AgentJsonContext.Default.HeartbeatRequest);

        Assert.EndsWith(
            ""","replicas":[],"sleeping":[{"deploymentId":"dep-1","model":"org/m","gpuIndices":[0,1],"bytes":42}],"sleepBudgetBytes":1000}""",
            json,
            StringComparison.Ordinal);
        var noneJson = JsonSerializer.Serialize(none, AgentJsonContext.Default.HeartbeatRequest);
        Assert.DoesNotContain("sleeping", noneJson, StringComparison.Ordinal);
        Assert.DoesNotContain("sleepBudgetBytes", noneJson, StringComparison.Ordinal);
    }

    [Fact]
    public void Deserialize_Tier_IsRead()
    {
        var reply = JsonSerializer.Deserialize(
            """{"heartbeatIntervalSeconds": 5, "desired": [{"replicaId": "r1", "deploymentId": "d", "model": "m", "gpuIndices": [0], "tier": "burst"}]}""",
            AgentJsonContext.Default.HeartbeatReply);

        Assert.Equal("burst", Assert.Single(reply?.Desired ?? [])?.Tier);
    }

    [Fact]
    public void Deserialize_PrefetchAndSharedPriority_AreRead()
    {
        var reply = JsonSerializer.Deserialize(
            """{"heartbeatIntervalSeconds": 5, "desired": [{"replicaId": "r1", "deploymentId": "d", "model": "m", "gpuIndices": [0], "sharedRequestPriority": "low"}], "prefetch": ["m2"]}""",
            AgentJsonContext.Default.HeartbeatReply);

        Assert.Equal(["m2"], reply?.Prefetch);
        Assert.Equal("low", Assert.Single(reply?.Desired ?? [])?.SharedRequestPriority);
    }

    [Fact]
    public void Deserialize_StopSleeping_IsRead()
    {
        var reply = JsonSerializer.Deserialize("""{"heartbeatIntervalSeconds": 5, "desired": [], "stopSleeping": ["gone"]}""", AgentJsonContext.Default.HeartbeatReply);

        Assert.Equal(["gone"], reply?.StopSleeping);
    }

    [Fact]
    public void Deserialize_HeartbeatReply_ReadsTheInterval()
    {
        var reply = JsonSerializer.Deserialize("""{"heartbeatIntervalSeconds": 5, "desired": []}""", AgentJsonContext.Default.HeartbeatReply);

        Assert.Equal(5, reply?.HeartbeatIntervalSeconds);
        Assert.NotNull(reply?.Desired);
        Assert.Empty(reply.Desired);
    }

    [Fact]
    public void Deserialize_DesiredReplicas_ReadsEveryField()
    {
        var reply = JsonSerializer.Deserialize(
            """{"heartbeatIntervalSeconds": 5, "desired": [{"replicaId": "r1", "deploymentId": "dep-1", "model": "org/model", "gpuIndices": [2, 3], "futureField": true}]}""",
            AgentJsonContext.Default.HeartbeatReply);

        var desired = Assert.Single(reply?.Desired ?? []);
        Assert.NotNull(desired);
        Assert.Equal(("r1", "dep-1", "org/model"), (desired.ReplicaId, desired.DeploymentId, desired.Model));
        Assert.Equal([2, 3], desired.GpuIndices);
    }

    [Fact]
    public void Deserialize_ReplyWithoutDesired_HasNullDesired()
    {
        var reply = JsonSerializer.Deserialize("""{"heartbeatIntervalSeconds": 5}""", AgentJsonContext.Default.HeartbeatReply);

        Assert.Null(reply?.Desired);
    }

    [Fact]
    public void Deserialize_IncompleteDesiredEntries_ReadsThemForTheSupervisorToRefuse()
    {
        var reply = JsonSerializer.Deserialize("""{"desired": [null, {"replicaId": "r1"}]}""", AgentJsonContext.Default.HeartbeatReply);

        Assert.Equal([null, new DesiredReplica("r1", null, null, null)], reply?.Desired ?? []);
    }
}
