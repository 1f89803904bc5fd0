using ControlPlane.NodeAgent.Heartbeats;
using ControlPlane.NodeAgent.Tests.Support;

namespace ControlPlane.NodeAgent.Tests.Heartbeats;

/// <summary>The node's own token kept in a file: obtained with a join token when missing, renewed once when refused.</summary>
public sealed class NodeIdentityTests
{
    private const string JoinToken = "cp1.join-token";

    [Fact]
    public async Task Obtain_FileMissing_EnrolsWithTheJoinTokenAndKeepsTheNodeTokenOwnerOnly()
    {
        using var scratch = new ScratchDirectory();
        await using var server = HeartbeatTestServer.Start();
        server.Respond = _ => new TestResponse(201, """{"nodeId": "node-a", "token": "cp1.node-a-token"}""");
        var file = Path.Combine(scratch.Path, "state", "node-token");
        using var http = new HttpClient();
        var log = new LogCapture();

        var token = await new NodeIdentity(http, [server.BaseAddress], "node-a", file, JoinToken, new AgentLog(log, new StepTimeProvider()), new StepTimeProvider())
            .ObtainAsync(TestContext.Current.CancellationToken);

        Assert.Equal("cp1.node-a-token", token);
        var request = await server.NextAsync();
        Assert.Equal(("POST", "/agent/v1/enrol", "Bearer " + JoinToken), (request.Method, request.Path, request.Authorization));
        Assert.Equal("node-a", request.Body.GetProperty("nodeId").GetString());
        Assert.False(string.IsNullOrEmpty(request.IdempotencyKey));
        Assert.Equal("cp1.node-a-token\n", await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }

        Assert.Equal(["node-token"], Directory.GetFiles(Path.GetDirectoryName(file)!).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Obtain_FileExists_UsesItWithoutEnrolling()
    {
        using var scratch = new ScratchDirectory();
        var file = scratch.WriteFile("node-token", "cp1.kept\n");
        using var http = new HttpClient();
        // Nothing listens there: an enrolment would fail.
        var nowhere = new Uri($"http://127.0.0.1:{HeartbeatTestServer.FreePort()}/");

        var token = await new NodeIdentity(http, [nowhere], "node-a", file, JoinToken, new AgentLog(new LogCapture(), new StepTimeProvider()), new StepTimeProvider())
            .ObtainAsync(TestContext.Current.CancellationToken);

        Assert.Equal("cp1.kept", token);
    }

    [Fact]
    public async Task Obtain_ServerUnavailableThenEnrols_RetriesWithTheSameIdempotencyKey()
    {
        using var scratch = new ScratchDirectory();
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n == 1
            ? TestResponse.Problem(503, "Unavailable", "try later")
            : new TestResponse(201, """{"nodeId": "node-a", "token": "cp1.after-retry"}""");
        using var http = new HttpClient();
        var time = new StepTimeProvider();
        var attempts = 0;
        var obtaining = new NodeIdentity(http, [server.BaseAddress], "node-a", Path.Combine(scratch.Path, "node-token"), JoinToken, new AgentLog(new LogCapture(), time), time)
            .ObtainAsync(TestContext.Current.CancellationToken, () => attempts++);

        var first = await server.NextAsync();
        (await time.NextTimerAsync()).Fire();
        var second = await server.NextAsync();

        Assert.Equal("cp1.after-retry", await obtaining.WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken));
        Assert.Equal(first.IdempotencyKey, second.IdempotencyKey);
        // The failed attempt told the liveness file the agent is alive while it waits; the one that worked leaves it to the heartbeats.
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task Obtain_JoinTokenRefused_ReturnsNullWritesNothingAndSaysWhy()
    {
        using var scratch = new ScratchDirectory();
        await using var server = HeartbeatTestServer.Start();
        server.Respond = _ => TestResponse.Problem(403, "The join token is used up.", "Every enrolment this join token allows was made.");
        var file = Path.Combine(scratch.Path, "node-token");
        using var http = new HttpClient();
        var log = new LogCapture();

        var token = await new NodeIdentity(http, [server.BaseAddress], "node-a", file, JoinToken, new AgentLog(log, new StepTimeProvider()), new StepTimeProvider())
            .ObtainAsync(TestContext.Current.CancellationToken);

        Assert.Null(token);
        Assert.False(File.Exists(file));
        Assert.Contains(log.Lines, l => l.Contains("enrolment of node node-a refused", StringComparison.Ordinal) && l.Contains("403", StringComparison.Ordinal) && l.Contains("Every enrolment", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Heartbeat_TokenRevoked_EnrolsAgainOnce_ThenHeartbeatsWithTheNewToken()
    {
        using var scratch = new ScratchDirectory();
        var file = scratch.WriteFile("node-token", AgentUnderTest.Token + "\n");
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n switch
        {
            1 => TestResponse.Problem(401, "The token was replaced.", "This token is no longer valid for node 'node-a'."),
            2 => new TestResponse(201, """{"nodeId": "node-a", "token": "cp1.renewed"}"""),
            _ => TestResponse.Ok(intervalSeconds: 5),
        };
        await using var agent = AgentUnderTest.StartWithTokenFile(server.BaseAddress, file, JoinToken);

        Assert.Equal("Bearer " + AgentUnderTest.Token, (await server.NextAsync()).Authorization);
        var enrol = await server.NextAsync();
        Assert.Equal(("/agent/v1/enrol", "Bearer " + JoinToken), (enrol.Path, enrol.Authorization));
        var next = await server.NextAsync();

        Assert.Equal(("/agent/v1/nodes/node-a/heartbeat", "Bearer cp1.renewed"), (next.Path, next.Authorization));
        Assert.Equal("cp1.renewed\n", await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken));
        Assert.Contains(agent.Log.Lines, l => l.Contains("revoked or rotated", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Heartbeat_RenewedTokenRefusedToo_DoesNotEnrolAgainAndSaysWhatToDo()
    {
        using var scratch = new ScratchDirectory();
        var file = scratch.WriteFile("node-token", AgentUnderTest.Token + "\n");
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n == 2
            ? new TestResponse(201, """{"nodeId": "node-a", "token": "cp1.renewed"}""")
            : TestResponse.Problem(401, "The token was replaced.", "no longer valid");
        await using var agent = AgentUnderTest.StartWithTokenFile(server.BaseAddress, file, JoinToken);

        await server.NextAsync();
        await server.NextAsync();
        Assert.Equal("Bearer cp1.renewed", (await server.NextAsync()).Authorization);
        await agent.PassDelayAsync(Backoff.Slow);

        var after = await server.NextAsync();
        Assert.Equal(("/agent/v1/nodes/node-a/heartbeat", "Bearer cp1.renewed"), (after.Path, after.Authorization));
        Assert.Contains(agent.Log.Lines, l => l.Contains("POST /admin/v1/nodes/node-a/token", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Heartbeat_TokenRefused_AnOperatorWroteANewOneToTheFile_UsesIt()
    {
        using var scratch = new ScratchDirectory();
        // The agent started with AgentUnderTest.Token; since then an operator rotated it and wrote the new one here.
        var file = scratch.WriteFile("node-token", "cp1.from-operator\n");
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n == 1 ? TestResponse.Problem(401, "The token was replaced.", "no longer valid") : TestResponse.Ok(intervalSeconds: 5);
        await using var agent = AgentUnderTest.StartWithTokenFile(server.BaseAddress, file, joinToken: null);

        Assert.Equal("Bearer " + AgentUnderTest.Token, (await server.NextAsync()).Authorization);

        Assert.Equal("Bearer cp1.from-operator", (await server.NextAsync()).Authorization);
    }
}
