using ControlPlane.NodeAgent.Replicas;
using ControlPlane.NodeAgent.Tests.Support;

namespace ControlPlane.NodeAgent.Tests.Heartbeats;

/// <summary>The loop and its replicas: what each heartbeat reports, and what each reply's <c>desired</c> list does.</summary>
public sealed class HeartbeatLoopReplicaTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task RunAsync_ReplyNamesReplicas_ReportsThemStartingThenReady()
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = _ => TestResponse.Desired(5, "r1", "r2");
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        var first = await server.NextAsync();
        await agent.PassDelayAsync(Interval);
        var second = await server.NextAsync();
        foreach (var _ in new[] { "r1", "r2" })
        {
            var loaded = await agent.ReplicaTime.NextTimerAsync();
            Assert.Equal(AgentUnderTest.LoadTime, loaded.DueTime);
            loaded.Fire();
        }

        await Poll.UntilAsync(() => agent.Replicas.Report().All(r => r.State == ReplicaState.Ready), "the replicas to load");
        await agent.PassDelayAsync(Interval);
        var third = await server.NextAsync();

        Assert.Empty(first.Replicas);
        Assert.Equal(["r1=starting", "r2=starting"], second.Replicas);
        Assert.Equal(["r1=ready", "r2=ready"], third.Replicas);
    }

    [Fact]
    public async Task RunAsync_ReplicaLeftOutOfDesired_StopsItAndNoLongerReportsIt()
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n == 1 ? TestResponse.Desired(5, "r1", "r2") : TestResponse.Desired(5, "r2");
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        await server.NextAsync();
        await agent.PassDelayAsync(Interval);
        var second = await server.NextAsync();
        await agent.PassDelayAsync(Interval);
        var third = await server.NextAsync();

        Assert.Equal(["r1=starting", "r2=starting"], second.Replicas);
        Assert.Equal(["r2=starting"], third.Replicas);
        Assert.Contains(agent.Log.Lines, l => l.Contains("stopping replica r1: no longer desired", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_ReplyWithoutDesiredOrNoReply_KeepsTheReplicas()
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n switch
        {
            1 => TestResponse.Desired(5, "r1"),
            2 => new TestResponse(200, """{"heartbeatIntervalSeconds": 5}"""),
            3 => new TestResponse(503, null),
            _ => new TestResponse(200, ""),
        };
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        await server.NextAsync();
        await agent.PassDelayAsync(Interval);
        await server.NextAsync();
        await agent.PassDelayAsync(Interval);
        var third = await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(0.5));
        var fourth = await server.NextAsync();
        await agent.PassDelayAsync(Interval);
        var fifth = await server.NextAsync();

        Assert.Equal(["r1=starting"], third.Replicas);
        Assert.Equal(["r1=starting"], fourth.Replicas);
        Assert.Equal(["r1=starting"], fifth.Replicas);
    }

    [Fact]
    public async Task RunAsync_MalformedDesiredEntry_LogsItAndRunsTheOthers()
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = _ => TestResponse.OkWithDesired(5, $$"""{{TestResponse.DesiredJson("r1", 0)}}, null, {"replicaId": "r2", "gpuIndices": [1]}""");
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        await server.NextAsync();
        await agent.PassDelayAsync(Interval);
        var second = await server.NextAsync();
        await agent.PassDelayAsync(Interval);
        await server.NextAsync();

        Assert.Equal(["r1=starting"], second.Replicas);
        var errors = agent.Log.Lines.Where(l => l.Contains(" error heartbeat reply: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, l => l.EndsWith("desired[1] ignored: null instead of a replica", StringComparison.Ordinal));
        Assert.Contains(errors, l => l.Contains("desired[2] ignored: replica 'r2': deploymentId must be", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_DesiredOfTheWrongJsonType_RejectsTheReplyAndKeepsTheReplicas()
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n == 1
            ? TestResponse.Desired(5, "r1")
            : TestResponse.OkWithDesired(5, """{"replicaId": 7, "deploymentId": "dep-1", "model": "m", "gpuIndices": [0]}""");
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        await server.NextAsync();
        await agent.PassDelayAsync(Interval);
        await server.NextAsync();
        await agent.PassDelayAsync(Interval);
        var third = await server.NextAsync();

        Assert.Equal(["r1=starting"], third.Replicas);
        Assert.Contains(agent.Log.Lines, l => l.Contains("heartbeat 2: server answered 200 OK with a body that is not a heartbeat reply", StringComparison.Ordinal));
    }
}
