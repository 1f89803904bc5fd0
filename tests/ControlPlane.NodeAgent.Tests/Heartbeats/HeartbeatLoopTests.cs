using System.Text.Json;
using ControlPlane.NodeAgent.Gpus;
using ControlPlane.NodeAgent.Heartbeats;
using ControlPlane.NodeAgent.Tests.Support;

namespace ControlPlane.NodeAgent.Tests.Heartbeats;

public sealed class HeartbeatLoopTests
{
    private static readonly TimeSpan Cap = Backoff.Slow;

    [Fact]
    public async Task RunAsync_SeveralHeartbeats_SequenceIncreasesAndSessionIdStays()
    {
        await using var server = HeartbeatTestServer.Start();
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        var received = new List<ReceivedHeartbeat> { await server.NextAsync() };
        for (var i = 0; i < 2; i++)
        {
            await agent.PassDelayAsync(TimeSpan.FromSeconds(5));
            received.Add(await server.NextAsync());
        }

        Assert.Equal([1L, 2L, 3L], received.Select(r => r.Sequence));
        Assert.All(received, r => Assert.Equal(agent.SessionId, r.SessionId));
        Assert.All(received, r => Assert.Equal("POST", r.Method));
        Assert.All(received, r => Assert.Equal("/agent/v1/nodes/node-a/heartbeat", r.Path));
        Assert.All(received, r => Assert.Equal("Bearer secret-token", r.Authorization));
        Assert.All(received, r => Assert.Equal("application/json; charset=utf-8", r.ContentType));
        Assert.All(received, r => Assert.Equal(r.Body.GetRawText().Length, r.ContentLength));
    }

    [Fact]
    public async Task RunAsync_Heartbeat_CarriesVersionGpusAndEmptyReplicas()
    {
        await using var server = HeartbeatTestServer.Start();
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        var body = (await server.NextAsync()).Body;

        Assert.Equal(AgentUnderTest.Version, body.GetProperty("agentVersion").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("inventoryError").ValueKind);
        Assert.Equal(0, body.GetProperty("replicas").GetArrayLength());
        var gpu = Assert.Single(body.GetProperty("gpus").EnumerateArray());
        Assert.Equal("GPU-00a79cbc-6356-7dac-00e7-e799b0205aa2", gpu.GetProperty("uuid").GetString());
        Assert.Equal(143771, gpu.GetProperty("memoryTotalMiB").GetInt64());
        Assert.Equal(82.55, gpu.GetProperty("powerWatts").GetDouble());
    }

    [Fact]
    public async Task RunAsync_ReplyNamesInterval_WaitsThatLong()
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => TestResponse.Ok(intervalSeconds: n == 1 ? 7 : 2);
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(7));
        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(3, (await server.NextAsync()).Sequence);
    }

    [Theory]
    [InlineData(503)]
    [InlineData(500)]
    [InlineData(429)]
    public async Task RunAsync_ServerUnavailable_BacksOffThenRecoversAndResets(int status)
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n is 3 ? TestResponse.Ok(intervalSeconds: 5) : new TestResponse(status, null);
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(0.5));
        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(1));
        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(5));
        await server.NextAsync();
        // The failure after a success starts the back-off again from a tenth of the interval: heartbeat 5 comes 0.5 s later.
        await agent.PassDelayAsync(TimeSpan.FromSeconds(0.5));
        Assert.Equal(5, (await server.NextAsync()).Sequence);

        // Heartbeat 5 may be answered (and logged) or not by now; the first four are settled.
        Assert.Equal(3, agent.Log.Lines.Count(l => l.Contains(" warn  heartbeat ", StringComparison.Ordinal)
            && l.Contains($"{status}", StringComparison.Ordinal)
            && !l.Contains(" warn  heartbeat 5 ", StringComparison.Ordinal)));
        Assert.Contains(agent.Log.Lines, l => l.Contains("heartbeat 3 accepted by", StringComparison.Ordinal) && l.Contains("after 2 failed attempts", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(429)]
    [InlineData(503)]
    public async Task RunAsync_ServerAsksToRetryLater_WaitsAsLongAsItAsks(int status)
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n switch
        {
            1 => TestResponse.Problem(status, "Too many requests.", "slow down") with { Headers = [("Retry-After", "7")] },
            // The back-off's second wait (1 s at the 5 s interval) equals what is asked; its third (2 s) is longer than
            // what is asked, and wins.
            2 or 3 => TestResponse.Problem(status, "Too many requests.", "slow down") with { Headers = [("Retry-After", "1")] },
            _ => TestResponse.Ok(intervalSeconds: 5),
        };
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(7));
        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(1));
        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(4, (await server.NextAsync()).Sequence);

        Assert.Contains(agent.Log.Lines, l => l.Contains("heartbeat 1 failed (attempt 1)", StringComparison.Ordinal)
            && l.Contains("retrying in 7.0 s (the server asked for 7 s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_RetryAfterAsADate_WaitsUntilThenByTheServersClock()
    {
        // A clock far from the agent's: only the difference between the two headers counts.
        var serverNow = new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero);
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n == 1
            ? new TestResponse(503, null) { Headers = [("Date", serverNow.ToString("R")), ("Retry-After", serverNow.AddSeconds(9).ToString("R"))] }
            : TestResponse.Ok(intervalSeconds: 5);
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(9));
        Assert.Equal(2, (await server.NextAsync()).Sequence);
    }

    [Fact]
    public async Task RunAsync_RetryAfterBeyondTheLongestInterval_WaitsTheLongestInterval()
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n == 1
            ? new TestResponse(429, null) { Headers = [("Retry-After", "86400")] }
            : TestResponse.Ok(intervalSeconds: 5);
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(2, (await server.NextAsync()).Sequence);
    }

    [Fact]
    public async Task RunAsync_LivenessFile_RewrittenAfterEveryHeartbeatAcceptedOrRejected()
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n == 2 ? TestResponse.Problem(401, "Unauthorized", "unknown token") : TestResponse.Ok(intervalSeconds: 5);
        var file = Path.Combine(Directory.CreateTempSubdirectory("agent-liveness-").FullName, "alive");
        await using var agent = AgentUnderTest.Start(server.BaseAddress, livenessFile: file);

        await server.NextAsync();
        var wait = await agent.Time.NextTimerAsync();
        Assert.True(DateTimeOffset.TryParse(File.ReadAllText(file), System.Globalization.CultureInfo.InvariantCulture, out _));
        File.Delete(file);
        wait.Fire();

        await server.NextAsync();
        wait = await agent.Time.NextTimerAsync();
        Assert.Equal(Cap, wait.DueTime);
        Assert.True(File.Exists(file), "a rejected heartbeat still shows the loop turns");
        wait.Fire();
    }

    [Fact]
    public async Task RunAsync_ConnectionRefused_BacksOffUpToTheIntervalAndLogsEachAttempt()
    {
        var closedPort = new Uri($"http://127.0.0.1:{HeartbeatTestServer.FreePort()}/");
        await using var agent = AgentUnderTest.Start(closedPort);

        foreach (var seconds in new[] { 0.5, 1, 2, 4, 5, 5, 5 })
        {
            await agent.PassDelayAsync(TimeSpan.FromSeconds(seconds));
        }

        var failures = agent.Log.Lines.Where(l => l.Contains("failed (attempt", StringComparison.Ordinal)).ToList();
        Assert.True(failures.Count >= 7, string.Join('\n', agent.Log.Lines));
        Assert.Contains($"cannot reach {closedPort}", failures[0], StringComparison.Ordinal);
        Assert.Contains("heartbeat 1 failed (attempt 1)", failures[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_FirstServerRefusesConnections_TheNextServerGetsTheHeartbeatAtOnceAndKeepsIt()
    {
        var dead = new Uri($"http://127.0.0.1:{HeartbeatTestServer.FreePort()}/");
        await using var server = HeartbeatTestServer.Start();
        await using var agent = AgentUnderTest.Start([dead, server.BaseAddress]);

        await agent.PassDelayAsync(Backoff.FailoverPause);
        Assert.Equal(2, (await server.NextAsync()).Sequence);
        await agent.PassDelayAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(3, (await server.NextAsync()).Sequence);

        Assert.Contains(agent.Log.Lines, l => l.Contains($"cannot reach {dead}", StringComparison.Ordinal) && l.Contains($"retrying with {server.BaseAddress} in 0.1 s", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_ServerDiesBetweenHeartbeats_NextServerIsHeardWellWithinTheSuspectWindow()
    {
        await using var second = HeartbeatTestServer.Start();
        var first = HeartbeatTestServer.Start();
        await using var agent = AgentUnderTest.Start([first.BaseAddress, second.BaseAddress]);
        await first.NextAsync();
        var interval = await agent.Time.NextTimerAsync();
        Assert.Equal(TimeSpan.FromSeconds(5), interval.DueTime);
        await first.DisposeAsync();

        // Heartbeat 2 finds the first server gone; heartbeat 3 reaches the second one 0.1 s later: the node is heard
        // again 5.1 s after heartbeat 1, well within its 10 s suspect window (the delays asked for are asserted exactly).
        interval.Fire();
        await agent.PassDelayAsync(Backoff.FailoverPause);
        Assert.Equal(3, (await second.NextAsync()).Sequence);
    }

    [Fact]
    public async Task RunAsync_ServerDoesNotAnswerWithinTheInterval_GivesUpAndTriesTheNextServer()
    {
        await using var hanging = HeartbeatTestServer.Start();
        hanging.Respond = n => n == 1 ? TestResponse.Ok(intervalSeconds: 1) : TestResponse.NoAnswer;
        await using var second = HeartbeatTestServer.Start();
        await using var agent = AgentUnderTest.Start([hanging.BaseAddress, second.BaseAddress]);
        await hanging.NextAsync();

        // At a 1 s interval a heartbeat waits at most 1 s for its answer (not the HTTP client's 10 s).
        await agent.PassDelayAsync(TimeSpan.FromSeconds(1));
        await hanging.NextAsync();
        await agent.PassDelayAsync(Backoff.FailoverPause);
        Assert.Equal(3, (await second.NextAsync()).Sequence);

        Assert.Contains(agent.Log.Lines, l => l.Contains($"no answer from {hanging.BaseAddress} within 1 s", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_503WithRetryAfter_WaitsAtLeastThatLong()
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n == 1 ? TestResponse.Problem(503, "The control plane's storage is unavailable.", "retry") with { RetryAfterSeconds = 3 } : TestResponse.Ok(intervalSeconds: 5);
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(3));
        Assert.Equal(2, (await server.NextAsync()).Sequence);
    }

    [Fact]
    public async Task RunAsync_TokenRejected_LogsAndKeepsRetryingAtTheCap()
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n <= 2
            ? TestResponse.Problem(401, "Unauthorized", "unknown token")
            : TestResponse.Ok(intervalSeconds: 5);
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        await server.NextAsync();
        await agent.PassDelayAsync(Cap);
        await server.NextAsync();
        await agent.PassDelayAsync(Cap);
        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(5));

        Assert.False(agent.Running.IsCompleted);
        var rejected = agent.Log.Lines.Where(l => l.Contains("token rejected for node node-a", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rejected.Count);
        Assert.Contains("unknown token", rejected[0], StringComparison.Ordinal);
        Assert.Contains(" error ", rejected[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_OtherClientError_LogsProblemDetailAndKeepsTheNormalInterval()
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = n => n == 2
            ? TestResponse.Problem(400, "Bad heartbeat", "gpus[0].uuid is duplicated")
            : TestResponse.Ok(intervalSeconds: 9);
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(9));
        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(9));
        await server.NextAsync();

        Assert.Contains(
            agent.Log.Lines,
            l => l.Contains("heartbeat 2: server rejected the heartbeat: 400 Bad Request: gpus[0].uuid is duplicated", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_ClientErrorBeforeAnyReply_WaitsTheDefaultInterval()
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = _ => TestResponse.Problem(404, "Not Found", "node node-a is not enrolled");
        await using var agent = AgentUnderTest.Start(server.BaseAddress);

        await server.NextAsync();
        await agent.PassDelayAsync(TimeSpan.FromSeconds(5));

        Assert.Contains(agent.Log.Lines, l => l.Contains("node node-a is not enrolled", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_GpuReadFails_ReportsTheErrorWithTheLastGpusKnown()
    {
        const string error = "nvidia-smi exited with code 9: NVIDIA-SMI has failed";
        var gpus = AgentUnderTest.H200Gpus();
        var reader = new ScriptedGpuReader(GpuReading.Success(gpus), GpuReading.Failure(error), GpuReading.Success(gpus));
        await using var server = HeartbeatTestServer.Start();
        await using var agent = AgentUnderTest.Start(server.BaseAddress, reader);

        var healthy = (await server.NextAsync()).Body;
        await agent.PassDelayAsync(TimeSpan.FromSeconds(5));
        var broken = (await server.NextAsync()).Body;
        await agent.PassDelayAsync(TimeSpan.FromSeconds(5));
        var recovered = (await server.NextAsync()).Body;

        Assert.Equal(JsonValueKind.Null, healthy.GetProperty("inventoryError").ValueKind);
        Assert.Equal(error, broken.GetProperty("inventoryError").GetString());
        Assert.Equal(
            healthy.GetProperty("gpus").GetRawText(),
            broken.GetProperty("gpus").GetRawText());
        Assert.Equal(JsonValueKind.Null, recovered.GetProperty("inventoryError").ValueKind);
        Assert.Contains(agent.Log.Lines, l => l.Contains(" error ", StringComparison.Ordinal) && l.Contains(error, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_GpuReadFailsFromTheStart_SendsNoGpus()
    {
        var reader = new ScriptedGpuReader(GpuReading.Failure("nvidia-smi not found on PATH; pass --nvidia-smi PATH"));
        await using var server = HeartbeatTestServer.Start();
        await using var agent = AgentUnderTest.Start(server.BaseAddress, reader);

        var body = (await server.NextAsync()).Body;

        Assert.Equal(0, body.GetProperty("gpus").GetArrayLength());
        Assert.Equal("nvidia-smi not found on PATH; pass --nvidia-smi PATH", body.GetProperty("inventoryError").GetString());
    }

    [Fact]
    public async Task RunAsync_CancelledWhileWaiting_ReturnsWithoutThrowing()
    {
        await using var server = HeartbeatTestServer.Start();
        await using var agent = AgentUnderTest.Start(server.BaseAddress);
        await server.NextAsync();
        var pending = await agent.Time.NextTimerAsync();

        await agent.StopAsync();

        Assert.True(agent.Running.IsCompletedSuccessfully);
        Assert.True(pending.IsDisposed);
    }

    [Fact]
    public async Task RunAsync_CancelledDuringARequest_ReturnsWithoutThrowing()
    {
        await using var server = HeartbeatTestServer.Start();
        server.Respond = _ => TestResponse.NoAnswer;
        await using var agent = AgentUnderTest.Start(server.BaseAddress, requestTimeout: Timeout.InfiniteTimeSpan);
        await server.NextAsync();

        await agent.StopAsync();

        Assert.True(agent.Running.IsCompletedSuccessfully);
    }
}
