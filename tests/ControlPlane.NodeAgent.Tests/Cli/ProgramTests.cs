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
        Assert.Contains("usage: ControlPlane.NodeAgent --server URL --node-id ID --token TOKEN", stderr, StringComparison.Ordinal);
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
            ["--server", server.BaseAddress.AbsoluteUri, "--node-id", "node-e2e", "--nvidia-smi", Fixtures.FakeNvidiaSmi, "--runtime-dir", runtimeDirectory],
            ("CONTROLPLANE_NODE_TOKEN", "env-token"));
        var stdout = agent.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);

        var heartbeat = await server.NextAsync();
        using (var kill = Process.Start("kill", [$"-{signal}", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

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
