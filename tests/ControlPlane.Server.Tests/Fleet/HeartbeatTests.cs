using System.Net;
using System.Net.Http.Json;
using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Fleet;

[Collection(EmbeddedServerFixture.CollectionName)]
public sealed class HeartbeatTests(EmbeddedServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Heartbeat_FirstWithInventory_MakesNodeReadyWithSkuCountAndMemory()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("hb-ready");
        using var node = Server.CreateClient(token);

        // The H200's real nvidia-smi values (driver 580.159.04), as the agent sends them.
        var h200 = new { index = 0, uuid = "GPU-00a79cbc-6356-7dac-00e7-e799b0205aa2", name = "NVIDIA H200", memoryTotalMiB = 143771, memoryUsedMiB = 0, utilizationPercent = 0, temperatureC = 46, powerWatts = 82.55, eccUncorrected = 0 };
        using var response = await node.HeartbeatAsync(nodeId, 1, [h200]);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var view = await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}");
        Assert.Equal("ready", view["status"]!.GetValue<string>());
        Assert.Equal("h200-141gb", view["sku"]!.GetValue<string>());
        Assert.Equal(1, view["gpuCount"]!.GetValue<int>());
        Assert.Equal(143771, view["gpuMemoryMiB"]!.GetValue<long>());
        Assert.NotNull(view["lastHeartbeatAt"]);
        var gpu = view["gpus"]![0]!;
        Assert.Equal("GPU-00a79cbc-6356-7dac-00e7-e799b0205aa2", gpu["uuid"]!.GetValue<string>());
        Assert.Equal(46, gpu["temperatureC"]!.GetValue<int>());
        Assert.Equal(82.55, gpu["powerWatts"]!.GetValue<double>());
    }

    [Fact]
    public async Task Heartbeat_OlderSequenceThanLastSeen_IsIgnored()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("hb-stale");
        using var node = Server.CreateClient(token);

        Assert.Equal(HttpStatusCode.OK, (await node.HeartbeatAsync(nodeId, 5, ApiClient.Gpus(8))).StatusCode);
        using var delayed = await node.HeartbeatAsync(nodeId, 4, ApiClient.Gpus(2));

        Assert.Equal(HttpStatusCode.OK, delayed.StatusCode);
        Assert.Equal(8, (await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"))["gpuCount"]!.GetValue<int>());
    }

    [Fact]
    public async Task Heartbeat_RestartedAgentWithNewSession_IsAppliedDespiteLowerSequence()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("hb-restart");
        using var node = Server.CreateClient(token);

        await node.HeartbeatAsync(nodeId, 900, ApiClient.Gpus(8), session: "before-restart");
        using var afterRestart = await node.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(7), session: "after-restart");

        Assert.Equal(HttpStatusCode.OK, afterRestart.StatusCode);
        Assert.Equal(7, (await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"))["gpuCount"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("utilizationPercent", 150)]
    [InlineData("memoryTotalMiB", 0)]
    [InlineData("index", -1)]
    public async Task Heartbeat_InvalidGpuReading_Returns400AndChangesNothing(string field, int value)
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync($"hb-invalid-{field.ToLowerInvariant()}");
        using var node = Server.CreateClient(token);
        var gpu = System.Text.Json.Nodes.JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(ApiClient.Gpu(0)))!;
        gpu[field] = value;

        using var response = await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new { sequence = 1, gpus = new[] { gpu } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((await response.ProblemAsync())["errors"]!["gpus[0]"]);
        Assert.Equal("enrolled", await admin.NodeStatusAsync(nodeId));
    }

    [Fact]
    public async Task Heartbeat_DuplicateGpuUuids_Returns400()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("hb-duplicate-uuid");
        using var node = Server.CreateClient(token);

        using var response = await node.HeartbeatAsync(nodeId, 1, [ApiClient.Gpu(0), ApiClient.Gpu(0)]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Heartbeat_AgentStops_NodeTurnsSuspectThenDownThenReadyWhenItReturns()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("hb-dies");
        using var node = Server.CreateClient(token);
        await node.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(8));
        Assert.Equal("ready", await admin.NodeStatusAsync(nodeId));

        // Interval 1 s: suspect after 2 missed, down after 6 missed. The agent says nothing more.
        // Ready was seen above; on a loaded machine the watch's first look may already find it suspect.
        var seen = await admin.WatchStatusUntilAsync(nodeId, "down", TimeSpan.FromSeconds(30));

        Assert.Equal(["suspect", "down"], seen.SkipWhile(s => s == "ready"));
        var pools = await admin.GetJsonAsync("/admin/v1/pools");
        Assert.Contains(pools.AsArray(), p => p!["nodesByStatus"]!["down"] is not null);

        await node.HeartbeatAsync(nodeId, 2, ApiClient.Gpus(8));
        Assert.Equal("ready", await admin.NodeStatusAsync(nodeId));
    }

    [Fact]
    public async Task Heartbeat_UncorrectedEccErrors_GpuCountsAsUnhealthy()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("hb-ecc", region: "ecc-region");
        using var node = Server.CreateClient(token);

        await node.HeartbeatAsync(nodeId, 1, [ApiClient.Gpu(0), ApiClient.Gpu(1, ecc: 2)]);

        var view = await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}");
        Assert.Equal(1, view["healthyGpuCount"]!.GetValue<int>());
        Assert.False(view["gpus"]![1]!["healthy"]!.GetValue<bool>());
        var pool = (await admin.GetJsonAsync("/admin/v1/pools")).AsArray().Single(p => p!["region"]!.GetValue<string>() == "ecc-region")!;
        Assert.Equal(2, pool["gpusTotal"]!.GetValue<int>());
        Assert.Equal(1, pool["gpusHealthy"]!.GetValue<int>());
    }

    [Fact]
    public async Task Heartbeat_AgentCannotReadGpus_KeepsInventoryButVouchesForNoGpu()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("hb-smi-fails");
        using var node = Server.CreateClient(token);
        await node.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(8));

        using var failing = await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new
        {
            sequence = 2,
            agentSessionId = "session-1",
            inventoryError = "nvidia-smi not found on PATH; pass --nvidia-smi PATH",
            gpus = Array.Empty<object>(),
        });

        Assert.Equal(HttpStatusCode.OK, failing.StatusCode);
        var view = await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}");
        Assert.Equal("ready", view["status"]!.GetValue<string>());
        Assert.Equal(8, view["gpuCount"]!.GetValue<int>());
        Assert.Equal(0, view["healthyGpuCount"]!.GetValue<int>());
        Assert.Contains("nvidia-smi not found", view["inventoryError"]!.GetValue<string>());

        await node.HeartbeatAsync(nodeId, 3, ApiClient.Gpus(8));
        var recovered = await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}");
        Assert.Equal(8, recovered["healthyGpuCount"]!.GetValue<int>());
        Assert.Null(recovered["inventoryError"]);
    }

    [Fact]
    public async Task Heartbeat_ModelCache_IsShownOnTheNodeView()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("hb-cache");
        using var node = Server.CreateClient(token);

        using var response = await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new
        {
            sequence = 1, agentSessionId = "s", gpus = ApiClient.Gpus(8),
            modelCache = new
            {
                freeBytes = 500_000_000_000L,
                models = new[] { new { model = "meta-llama/Llama-3.1-8B", bytes = 16_000_000_000L } },
                prefetchFailures = new[] { new { model = "org/other", attempts = 2, error = "exit 1" } },
            },
        }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty((await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonNode>(TestContext.Current.CancellationToken))!["prefetch"]!.AsArray());
        var view = await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}");
        Assert.Equal("meta-llama/Llama-3.1-8B", view["warmModels"]![0]!["model"]!.GetValue<string>());
        Assert.Equal(16_000_000_000L, view["warmModels"]![0]!["bytes"]!.GetValue<long>());
        Assert.Equal(500_000_000_000L, view["modelCacheFreeBytes"]!.GetValue<long>());
        Assert.Equal("org/other", view["prefetchFailures"]![0]!["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task Heartbeat_BadModelCache_Is400NamingTheFields_AndChangesNothing()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("hb-bad-cache");
        using var node = Server.CreateClient(token);
        await node.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(8));

        using var response = await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new
        {
            sequence = 2, agentSessionId = "session-1", gpus = ApiClient.Gpus(8),
            modelCache = new
            {
                freeBytes = -1,
                models = new object?[] { new { model = "ok", bytes = 1 }, new { model = "bad\u0001", bytes = 1 }, new { model = "big", bytes = long.MaxValue }, null },
                prefetchFailures = new[] { new { model = "x", attempts = 0, error = "" } },
            },
        }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.ProblemAsync();
        var errors = problem["errors"]!.AsObject().Select(e => e.Key).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["modelCache.freeBytes", "modelCache.models[1]", "modelCache.models[2]", "modelCache.models[3]", "modelCache.prefetchFailures[0]"], errors);
        var view = await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}");
        Assert.Empty(view["warmModels"]!.AsArray());
        Assert.Null(view["modelCacheFreeBytes"]);
    }

    [Fact]
    public async Task Heartbeat_TooManyCachedModels_IsRefused()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("hb-many-models");
        using var node = Server.CreateClient(token);

        using var response = await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new
        {
            sequence = 1, gpus = ApiClient.Gpus(8),
            modelCache = new { freeBytes = 1, models = Enumerable.Range(0, 257).Select(i => new { model = $"m{i}", bytes = 1 }).ToArray() },
        }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((await response.ProblemAsync())["errors"]!["modelCache.models"]);
    }

    [Fact]
    public async Task Heartbeat_Sleeping_IsShownOnTheNodeView()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("hb-sleeping");
        using var node = Server.CreateClient(token);

        using var response = await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new
        {
            sequence = 1, agentSessionId = "s", gpus = ApiClient.Gpus(8),
            sleeping = new object[]
            {
                new { deploymentId = "acme-chat", model = "meta-llama/Llama-3.1-70B", gpuIndices = new[] { 5, 4 }, bytes = 141_000_000_000L },
                new { deploymentId = "batch-8b", model = "meta-llama/Llama-3.1-8B", gpuIndices = new[] { 6 }, bytes = 16_000_000_000L, batch = true },
            },
            sleepBudgetBytes = 512_000_000_000L,
        }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(512_000_000_000L, (await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"))["sleepBudgetBytes"]!.GetValue<long>());
        var engines = (await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"))["sleeping"]!.AsArray();
        Assert.Equal(2, engines.Count);
        Assert.Equal([false, true], engines.Select(e => e!["batch"]!.GetValue<bool>()));
        var sleeping = engines[0]!;
        Assert.Equal("acme-chat", sleeping["deploymentId"]!.GetValue<string>());
        Assert.Equal("meta-llama/Llama-3.1-70B", sleeping["model"]!.GetValue<string>());
        Assert.Equal([4, 5], sleeping["gpuIndices"]!.AsArray().Select(g => g!.GetValue<int>()));
        Assert.Equal(141_000_000_000L, sleeping["bytes"]!.GetValue<long>());

        // An agent that reports no list holds no sleeping engine.
        await node.HeartbeatAsync(nodeId, 2, ApiClient.Gpus(8));
        Assert.Empty((await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"))["sleeping"]!.AsArray());
    }

    [Fact]
    public async Task Heartbeat_SleepersOfADeploymentThatNoLongerExists_TheReplyTellsTheAgentToStopThem()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("hb-gone-sleepers");
        using var node = Server.CreateClient(token);
        await Deployments.LiquidCapacityTests.CreateAsync(admin, Deployments.LiquidCapacityTests.Batch("hb-kept-dep", "hb-nowhere"));

        using var response = await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new
        {
            sequence = 1, agentSessionId = "s", gpus = ApiClient.Gpus(8), sleepBudgetBytes = 1_000_000_000_000L,
            sleeping = new[]
            {
                new { deploymentId = "hb-kept-dep", model = "llama-3-8b", gpuIndices = new[] { 0 }, bytes = 16_000_000_000L },
                new { deploymentId = "hb-deleted-dep", model = "llama-3-8b", gpuIndices = new[] { 1 }, bytes = 16_000_000_000L },
            },
        }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>(TestContext.Current.CancellationToken);
        Assert.Equal(["hb-deleted-dep"], reply!["stopSleeping"]!.AsArray().Select(d => d!.GetValue<string>()));

        // Nothing asleep, or only engines of deployments that exist: no list at all.
        using var none = await node.HeartbeatAsync(nodeId, 2, ApiClient.Gpus(8));
        Assert.Null((await none.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>(TestContext.Current.CancellationToken))!["stopSleeping"]);
    }

    [Fact]
    public async Task Heartbeat_BadSleeping_Is400NamingTheEntries_AndChangesNothing()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("hb-bad-sleeping");
        using var node = Server.CreateClient(token);
        await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new
        {
            sequence = 1, agentSessionId = "session-1", gpus = ApiClient.Gpus(8),
            sleeping = new[] { new { deploymentId = "kept", model = "m", gpuIndices = new[] { 0 }, bytes = 1L } },
        }, TestContext.Current.CancellationToken);

        using var response = await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new
        {
            sequence = 2, agentSessionId = "session-1", gpus = ApiClient.Gpus(8),
            sleeping = new object?[]
            {
                new { deploymentId = "ok", model = "m", gpuIndices = new[] { 0, 1 }, bytes = 1L },
                new { deploymentId = "../etc", model = "m", gpuIndices = new[] { 0 }, bytes = 1L },
                new { deploymentId = "d", model = "bad\u0001", gpuIndices = new[] { 0 }, bytes = 1L },
                new { deploymentId = "d", model = "m", gpuIndices = new[] { 8 }, bytes = 1L },
                new { deploymentId = "d", model = "m", gpuIndices = new[] { 1, 1 }, bytes = 1L },
                new { deploymentId = "d", model = "m", gpuIndices = Array.Empty<int>(), bytes = 1L },
                new { deploymentId = "d", model = "m", gpuIndices = new[] { 2 }, bytes = -1L },
                new { deploymentId = "d", model = "m", gpuIndices = new[] { 2 }, bytes = long.MaxValue },
                null,
            },
        }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ProblemAsync())["errors"]!.AsObject().Select(e => e.Key).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(Enumerable.Range(1, 8).Select(i => $"sleeping[{i}]"), errors);
        var sleeping = Assert.Single((await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"))["sleeping"]!.AsArray())!;
        Assert.Equal("kept", sleeping["deploymentId"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(long.MaxValue)]
    public async Task Heartbeat_BadSleepBudget_Is400NamingIt_AndChangesNothing(long budget)
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync($"hb-bad-budget-{(budget < 0 ? "neg" : budget.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        using var node = Server.CreateClient(token);
        await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new { sequence = 1, agentSessionId = "s", gpus = ApiClient.Gpus(8), sleepBudgetBytes = 1_000L }, TestContext.Current.CancellationToken);

        using var response = await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new { sequence = 2, agentSessionId = "s", gpus = ApiClient.Gpus(8), sleepBudgetBytes = budget }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((await response.ProblemAsync())["errors"]!["sleepBudgetBytes"]);
        Assert.Equal(1_000L, (await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"))["sleepBudgetBytes"]!.GetValue<long>());
    }

    [Fact]
    public async Task Heartbeat_TooManyOrRepeatedSleepers_IsRefused()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("hb-many-sleeping");
        using var node = Server.CreateClient(token);

        using var many = await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new
        {
            sequence = 1, gpus = ApiClient.Gpus(8),
            sleeping = Enumerable.Range(0, 65).Select(i => new { deploymentId = $"d{i}", model = "m", gpuIndices = new[] { i % 8 }, bytes = 1L }).ToArray(),
        }, TestContext.Current.CancellationToken);
        using var repeated = await node.PostAsJsonAsync($"/agent/v1/nodes/{nodeId}/heartbeat", new
        {
            sequence = 2, gpus = ApiClient.Gpus(8),
            sleeping = new[]
            {
                new { deploymentId = "d", model = "m", gpuIndices = new[] { 0, 1 }, bytes = 1L },
                new { deploymentId = "d", model = "m", gpuIndices = new[] { 1, 0 }, bytes = 1L },
            },
        }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, many.StatusCode);
        Assert.NotNull((await many.ProblemAsync())["errors"]!["sleeping"]);
        Assert.Equal(HttpStatusCode.BadRequest, repeated.StatusCode);
        Assert.NotNull((await repeated.ProblemAsync())["errors"]!["sleeping"]);
        Assert.Empty((await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"))["sleeping"]!.AsArray());
    }
}
