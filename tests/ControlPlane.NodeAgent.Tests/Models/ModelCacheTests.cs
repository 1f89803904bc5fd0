using ControlPlane.NodeAgent.Heartbeats;
using ControlPlane.NodeAgent.Models;
using ControlPlane.NodeAgent.Replicas;
using ControlPlane.NodeAgent.Tests.Support;

namespace ControlPlane.NodeAgent.Tests.Models;

/// <summary>Prefetching through a real command, and the simulated runtime's pretend cache.</summary>
public sealed class ModelCacheTests
{
    [Fact]
    public async Task Prefetch_Command_FillsTheModelsDirectory_AndTheModelIsThenReportedWarm()
    {
        using var scratch = new ScratchDirectory();
        var root = Path.Combine(scratch.Path, "cache");
        var log = new LogCapture();
        // The command learns what to fetch and where from its environment, as huggingface-cli would be told.
        var command = $"printf '%s' \"$CONTROLPLANE_MODEL\" > \"$CONTROLPLANE_MODEL_CACHE_DIR/weights\"; echo run >> '{scratch.Path}/runs'";
        var cache = new ModelCache(new ModelCacheDirectory(root), new CommandModelFetcher(command), new AgentLog(log, TimeProvider.System), TimeProvider.System);

        Assert.Empty(cache.Report().Models);
        cache.Prefetch(["org/model-a"]);
        await Poll.UntilAsync(() => cache.Report().Models.Count == 1, "the prefetch to finish");

        var report = cache.Report();
        Assert.Equal([new CachedModel("org/model-a", "org/model-a".Length)], report.Models);
        Assert.Empty(report.PrefetchFailures);
        Assert.True(File.Exists(Path.Combine(root, "org", "model-a", ModelCacheDirectory.CompleteMarker)));

        // Warm now: asking again runs nothing.
        cache.Prefetch(["org/model-a"]);
        await cache.StopAsync();
        Assert.Single(File.ReadAllLines(Path.Combine(scratch.Path, "runs")));
    }

    [Fact]
    public async Task Prefetch_CommandFails_IsReportedWithItsAttempt_AndNotRetriedAtOnce()
    {
        using var scratch = new ScratchDirectory();
        var log = new LogCapture();
        var command = $"echo run >> '{scratch.Path}/runs'; exit 3";
        var cache = new ModelCache(new ModelCacheDirectory(Path.Combine(scratch.Path, "cache")), new CommandModelFetcher(command), new AgentLog(log, TimeProvider.System), TimeProvider.System);

        cache.Prefetch(["model-b"]);
        await Poll.UntilAsync(() => cache.Report().PrefetchFailures.Count == 1, "the prefetch to fail");
        cache.Prefetch(["model-b"]);
        await cache.StopAsync();

        var report = cache.Report();
        Assert.Equal([new PrefetchFailureReport("model-b", 1, "prefetch command exited with code 3")], report.PrefetchFailures);
        Assert.Empty(report.Models);
        Assert.Single(File.ReadAllLines(Path.Combine(scratch.Path, "runs")));
        Assert.Contains(log.Lines, l => l.Contains("prefetch of model-b failed: prefetch command exited with code 3", StringComparison.Ordinal));

        // A model the server no longer asks for leaves the failures.
        cache.Prefetch([]);
        Assert.Empty(cache.Report().PrefetchFailures);
    }

    [Fact]
    public async Task Prefetch_AskedAgainWhileRunning_RunsOneCommandPerModel()
    {
        using var scratch = new ScratchDirectory();
        var release = Path.Combine(scratch.Path, "release");
        var command = $"echo \"$CONTROLPLANE_MODEL\" >> '{scratch.Path}/runs'; while [ ! -e '{release}' ]; do sleep 0.05; done";
        var cache = new ModelCache(new ModelCacheDirectory(Path.Combine(scratch.Path, "cache")), new CommandModelFetcher(command), new AgentLog(new LogCapture(), TimeProvider.System), TimeProvider.System);

        cache.Prefetch(["m1", "m2"]);
        await Poll.UntilAsync(() => File.Exists(Path.Combine(scratch.Path, "runs")) && File.ReadAllLines(Path.Combine(scratch.Path, "runs")).Length == 2, "both fetches to start");
        cache.Prefetch(["m1", "m2", "m1"]);
        File.WriteAllText(release, "");
        await Poll.UntilAsync(() => cache.Report().Models.Count == 2, "both fetches to finish");
        await cache.StopAsync();

        Assert.Equal(["m1", "m2"], File.ReadAllLines(Path.Combine(scratch.Path, "runs")).Order());
    }

    [Fact]
    public async Task Prefetch_Simulated_MarksTheModelCompleteAfterTheModelledTime()
    {
        using var scratch = new ScratchDirectory();
        var time = new StepTimeProvider();
        var cache = new ModelCache(new ModelCacheDirectory(scratch.Path), new SimulatedModelFetcher(TimeSpan.FromSeconds(30), time), new AgentLog(new LogCapture(), time), time);

        cache.Prefetch(["model-c"]);
        var fetched = await time.NextTimerAsync();
        Assert.Equal(TimeSpan.FromSeconds(30), fetched.DueTime);
        Assert.Empty(cache.Report().Models);
        fetched.Fire();

        await Poll.UntilAsync(() => cache.Report().Models.Count == 1, "the pretend prefetch to finish");
        Assert.Equal("model-c", cache.Report().Models[0].Model);
    }

    [Fact]
    public async Task SimulatedReplica_TurnsReady_MakesItsModelWarm()
    {
        using var scratch = new ScratchDirectory();
        var cache = new ModelCache(new ModelCacheDirectory(scratch.Path), null, new AgentLog(new LogCapture(), TimeProvider.System), TimeProvider.System);
        var runtime = new SimulatedRuntimeOptions(TimeSpan.Zero).CreateRuntime(new AgentLog(new LogCapture(), TimeProvider.System), TimeProvider.System, cache.MarkWarm);

        var replica = runtime.Start(new ReplicaSpec("r1", "d", "org/served", [0]));
        await replica.StopAsync();

        Assert.Equal([new CachedModel("org/served", 0)], cache.Report().Models);
    }

    [Fact]
    public void Prefetch_WithoutAFetcher_IsIgnoredAndSaidOnce()
    {
        using var scratch = new ScratchDirectory();
        var log = new LogCapture();
        var cache = new ModelCache(new ModelCacheDirectory(scratch.Path), null, new AgentLog(log, TimeProvider.System), TimeProvider.System);

        cache.Prefetch(["m"]);
        cache.Prefetch(["m"]);

        Assert.Single(log.Lines, l => l.Contains("no --prefetch-command", StringComparison.Ordinal));
        Assert.Empty(cache.Report().Models);
    }
}
