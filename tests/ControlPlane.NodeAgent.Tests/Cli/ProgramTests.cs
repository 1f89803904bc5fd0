using System.Diagnostics;
using ControlPlane.NodeAgent.Tests.Support;

namespace ControlPlane.NodeAgent.Tests.Cli;

/// <summary>The agent as an operator runs it: a separate process, signals and exit codes.</summary>
[Collection(ProcessCollection.Name)]
public sealed class ProgramTests
{
    [Fact]
    public async Task Main_NoArguments_PrintsUsageAndExitsWith2()
    {
        using var agent = StartAgent([]);

        await agent.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);

        Assert.Equal(2, agent.ExitCode);
        var stderr = await agent.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.StartsWith("error: missing --server (or CONTROLPLANE_SERVER)", stderr, StringComparison.Ordinal);
        Assert.Contains("usage: ControlPlane.NodeAgent --server URL[,URL...] --node-id ID (--token TOKEN | --node-token-file PATH [--join-token TOKEN])", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("TERM", "SIGTERM")]
    [InlineData("INT", "SIGINT")]
    public async Task Main_StopSignal_StopsAndExitsWith0(string signal, string logged)
    {
        using var scratch = new ScratchDirectory();
        var runtimeDirectory = Path.Combine(scratch.Path, "runtime");
        await using var server = HeartbeatTestServer.Start();
        using var agent = StartAgent(
            ["--server", server.BaseAddress.AbsoluteUri, "--node-id", "node-e2e", "--nvidia-smi", Fixtures.FakeNvidiaSmi, "--runtime-dir", runtimeDirectory, "--runtime", "simulated"],
            ("CONTROLPLANE_NODE_TOKEN", "env-token"));
        var stdout = agent.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);

        var heartbeat = await server.NextAsync();
        if (signal == "INT" && InheritsIgnored(2))
        {
            // Started from a shell's background job (as `./test.sh &` does), the tests and the agent inherit SIGINT ignored,
            // and the agent keeps it so, as nohup and job control expect: it goes on heartbeating, and SIGTERM stops it.
            await SignalAsync(agent, "INT");
            await server.NextAsync();
            Assert.False(agent.HasExited);
            (signal, logged) = ("TERM", "SIGTERM");
        }

        await SignalAsync(agent, signal);
        await agent.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
        Assert.Equal(0, agent.ExitCode);
        var log = await stdout;
        Assert.Contains($"stopping ({logged})", log, StringComparison.Ordinal);
        Assert.EndsWith("stopped", log.TrimEnd(), StringComparison.Ordinal);
        Assert.True(Directory.Exists(runtimeDirectory));
        Assert.Equal("Bearer env-token", heartbeat.Authorization);
        Assert.Equal("/agent/v1/nodes/node-e2e/heartbeat", heartbeat.Path);
        Assert.Equal(8, heartbeat.Body.GetProperty("gpus").GetArrayLength());
        Assert.False(string.IsNullOrEmpty(heartbeat.Body.GetProperty("agentVersion").GetString()));
    }

    private static async Task SignalAsync(Process agent, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Whether this process ignores <paramref name="signal"/> (its children inherit that): the SigIgn mask of /proc/self/status.</summary>
    private static bool InheritsIgnored(int signal)
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << (signal - 1))) != 0;
    }

    [Fact]
    public async Task Main_StopSignalWithAReplicaRunning_StopsItBeforeExiting()
    {
        using var scratch = new ScratchDirectory();
        await using var server = HeartbeatTestServer.Start();
        server.Respond = _ => TestResponse.Desired(1, "r1");
        var startCommand = $"cd '{scratch.Path}' && env > env.tmp && mv env.tmp env && echo $$ > pid && exec sleep 600";
        using var agent = StartAgent(
            ["--server", server.BaseAddress.AbsoluteUri, "--node-id", "node-e2e", "--nvidia-smi", Fixtures.FakeNvidiaSmi, "--start-command", startCommand],
            ("CONTROLPLANE_NODE_TOKEN", "env-token"));
        var stdout = agent.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);

        while (!(await server.NextAsync()).Replicas.Contains("r1=ready"))
        {
        }

        var pid = await ProcessState.ReadPidAsync(Path.Combine(scratch.Path, "pid"));
        Assert.True(ProcessState.IsRunning(pid));
        using (var kill = Process.Start("kill", ["-TERM", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        await agent.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
        Assert.Equal(0, agent.ExitCode);
        Assert.False(ProcessState.IsRunning(pid));

        // The replica shared the agent's stdout: the pipe closes only once nothing of it is left.
        var log = await stdout.WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
        Assert.Contains("replica runtime: command (start: ", log, StringComparison.Ordinal);
        Assert.Contains("stopping 1 replica(s) before exit", log, StringComparison.Ordinal);
        Assert.Contains("replica r1 stopped", log, StringComparison.Ordinal);
        Assert.EndsWith("stopped", log.TrimEnd(), StringComparison.Ordinal);
        var environment = File.ReadAllLines(Path.Combine(scratch.Path, "env"));
        Assert.Contains("CONTROLPLANE_REPLICA_ID=r1", environment);
        Assert.Contains("CONTROLPLANE_MODEL=model-a", environment);
        Assert.Contains("CUDA_VISIBLE_DEVICES=0", environment);
        Assert.DoesNotContain(environment, l => l.StartsWith("CONTROLPLANE_NODE_TOKEN=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Main_SleepBudget_ReplicaLeavingTheListSleepsIsReportedAndIsStoppedAtExit()
    {
        using var scratch = new ScratchDirectory();
        var cache = Path.Combine(scratch.Path, "cache");
        Directory.CreateDirectory(Path.Combine(cache, "model-a"));
        await File.WriteAllBytesAsync(Path.Combine(cache, "model-a", "weights"), new byte[100], TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(cache, "model-a", ".complete"), "", TestContext.Current.CancellationToken);
        await using var server = HeartbeatTestServer.Start();
        var desired = 1;
        server.Respond = _ => Volatile.Read(ref desired) == 1
            ? TestResponse.OkWithDesired(1, """{"replicaId": "r1", "deploymentId": "dep-1", "model": "model-a", "gpuIndices": [0], "tier": "reserved"}""")
            : TestResponse.Ok(intervalSeconds: 1);
        using var agent = StartAgent(
            [
                "--server", server.BaseAddress.AbsoluteUri, "--node-id", "node-e2e", "--nvidia-smi", Fixtures.FakeNvidiaSmi,
                "--start-command", $"echo $$ > '{scratch.Path}/pid'; exec sleep 600",
                "--sleep-command", $"echo \"$CONTROLPLANE_REPLICA_ID\" > '{scratch.Path}/slept'",
                "--wake-command", "true",
                "--model-cache", cache, "--sleep-budget-gb", "1",
            ],
            ("CONTROLPLANE_NODE_TOKEN", "env-token"));
        var stdout = agent.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        while (!(await server.NextAsync()).Replicas.Contains("r1=ready"))
        {
        }

        var pid = await ProcessState.ReadPidAsync(Path.Combine(scratch.Path, "pid"));
        Volatile.Write(ref desired, 0);
        ReceivedHeartbeat heartbeat;
        do
        {
            heartbeat = await server.NextAsync();
        }
        while (!heartbeat.Body.TryGetProperty("sleeping", out var list) || list.GetArrayLength() == 0);

        var sleeping = heartbeat.Body.GetProperty("sleeping")[0];
        Assert.Equal(("dep-1", "model-a", 100), (sleeping.GetProperty("deploymentId").GetString(), sleeping.GetProperty("model").GetString(), sleeping.GetProperty("bytes").GetInt32()));
        Assert.Empty(heartbeat.Replicas);
        Assert.Equal("r1", File.ReadAllText(Path.Combine(scratch.Path, "slept")).Trim());
        Assert.True(ProcessState.IsRunning(pid));

        using (var kill = Process.Start("kill", ["-TERM", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        await agent.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
        Assert.Equal(0, agent.ExitCode);
        Assert.False(ProcessState.IsRunning(pid));
        var log = await stdout.WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
        Assert.Contains("sleeping replicas: dedicated and serverless replicas no longer desired sleep within 1 GiB of weights", log, StringComparison.Ordinal);
        Assert.Contains("replica r1 asleep on GPUs 0", log, StringComparison.Ordinal);
        Assert.Contains("replica r1 stopped", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Main_KubernetesRuntime_ReplicaRunsAsAPodThatOutlivesTheAgentProcess()
    {
        using var scratch = new ScratchDirectory();
        var tokenFile = scratch.WriteFile("token", "sa-token");
        await using var kubernetes = FakeKubernetesApi.Start();
        await using var server = HeartbeatTestServer.Start();
        server.Respond = _ => TestResponse.OkWithDesired(1, """{"replicaId": "r1", "deploymentId": "dep-1", "model": "model-a", "gpuIndices": [1, 0], "image": "vllm/vllm-openai:v0.11.0"}""");
        using var agent = StartAgent(
            [
                "--server", server.BaseAddress.AbsoluteUri, "--node-id", "gpu-node-17", "--nvidia-smi", Fixtures.FakeNvidiaSmi, "--runtime", "kubernetes",
                "--kube-api", kubernetes.BaseAddress.AbsoluteUri, "--kube-token-file", tokenFile, "--kube-namespace", "gpu",
            ],
            ("CONTROLPLANE_NODE_TOKEN", "env-token"),
            ("CONTROLPLANE_POD_NAME", "agent-x7k2p"),
            ("CONTROLPLANE_POD_UID", "6f1c2f0e-7b7a-4c1e-9d55-0d7b1f0c9a11"));
        var stdout = agent.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var name = ControlPlane.NodeAgent.Replicas.Kubernetes.KubernetesPods.PodName("r1");
        await Poll.UntilAsync(() => kubernetes.Pod(name) is not null, "the replica's pod");
        kubernetes.SetStatus(name, FakeKubernetesApi.Running(ready: true));
        while (!(await server.NextAsync()).Replicas.Contains("r1=ready"))
        {
        }

        await SignalAsync(agent, "TERM");
        await agent.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);

        Assert.Equal(0, agent.ExitCode);
        var pod = kubernetes.Pod(name)!;
        Assert.Equal("gpu-node-17", pod["spec"]!["nodeName"]!.GetValue<string>());
        Assert.Equal("agent-x7k2p", pod["metadata"]!["ownerReferences"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("vllm/vllm-openai:v0.11.0", pod["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.DoesNotContain(kubernetes.Requests, r => r.Method == "DELETE");
        Assert.All(kubernetes.Requests, r => Assert.Equal("Bearer sa-token", r.Authorization));
        var log = await stdout.WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
        Assert.Contains("replica runtime: kubernetes (one pod per replica on node gpu-node-17, owned by pod agent-x7k2p", log, StringComparison.Ordinal);
        Assert.Contains("leaving the replicas' pods to Kubernetes", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Main_KubernetesRuntimeWithABadPodTemplate_ExitsWith1SayingWhy()
    {
        using var scratch = new ScratchDirectory();
        var template = scratch.WriteFile("template.json", """{"spec": {"restartPolicy": "Always"}}""");
        using var agent = StartAgent(
            [
                "--server", "http://127.0.0.1:9/", "--node-id", "gpu-node-17", "--runtime", "kubernetes", "--kube-api", "http://127.0.0.1:9/",
                "--kube-namespace", "gpu", "--pod-name", "agent-x7k2p", "--pod-uid", "u1", "--pod-template", template,
            ],
            ("CONTROLPLANE_NODE_TOKEN", "env-token"));

        await agent.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);

        Assert.Equal(1, agent.ExitCode);
        var log = await agent.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.Contains($"cannot set up the replica runtime: {template}: spec.restartPolicy is set by the agent", log, StringComparison.Ordinal);
    }

    private static Process StartAgent(string[] args, params (string Name, string Value)[] environment)
    {
        var startInfo = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ControlPlane.NodeAgent.dll"));
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        foreach (var name in startInfo.Environment.Keys.Where(k => k.StartsWith("CONTROLPLANE_", StringComparison.Ordinal)).ToList())
        {
            startInfo.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        return Process.Start(startInfo) ?? throw new InvalidOperationException("the agent did not start");
    }
}
