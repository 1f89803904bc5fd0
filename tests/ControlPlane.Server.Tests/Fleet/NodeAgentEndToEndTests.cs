using System.Diagnostics;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Fleet;

/// <summary>
/// The real node agent process against the real server: it runs a stand-in nvidia-smi that prints an
/// 8 x H100 machine in nvidia-smi's own format, and is killed like a crashed host would be.
/// </summary>
[Collection(EmbeddedServerFixture.CollectionName)]
public sealed class NodeAgentEndToEndTests(EmbeddedServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Agent_WithH100NvidiaSmi_MakesNodeReady_AndKillingItTurnsNodeSuspectThenDown()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("agent-h100");
        using var agent = StartAgent(nodeId, token);

        var view = await Poll.UntilAsync(
            () => admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"),
            v => v["status"]!.GetValue<string>() == "ready",
            TimeSpan.FromSeconds(30),
            "the agent's first heartbeat");
        Assert.Equal("h100-sxm-80gb", view["sku"]!.GetValue<string>());
        Assert.Equal(8, view["gpuCount"]!.GetValue<int>());
        Assert.Equal(81559, view["gpuMemoryMiB"]!.GetValue<long>());
        Assert.Equal(8, view["healthyGpuCount"]!.GetValue<int>());
        Assert.StartsWith("GPU-", view["gpus"]![0]!["uuid"]!.GetValue<string>());
        Assert.Null(view["gpus"]![6]!["eccUncorrected"]);

        // The agent heartbeats at the server's interval (1 s here): the node stays ready while it runs.
        var before = view["lastHeartbeatAt"]!.GetValue<DateTimeOffset>();
        await Poll.UntilAsync(
            () => admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"),
            v => v["lastHeartbeatAt"]!.GetValue<DateTimeOffset>() > before,
            TimeSpan.FromSeconds(10),
            "a second heartbeat");

        agent.Kill(entireProcessTree: true);
        await agent.WaitForExitAsync(TestContext.Current.CancellationToken);

        // The node was ready up to the kill; on a loaded machine the first look after it may already find it suspect.
        var seen = await admin.WatchStatusUntilAsync(nodeId, "down", TimeSpan.FromSeconds(30));
        Assert.Equal(["suspect", "down"], seen.SkipWhile(s => s == "ready"));
    }

    [Fact]
    public async Task Agent_FailingNvidiaSmi_KeepsHeartbeatingAndReportsTheError()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("agent-smi-fails");
        using var agent = StartAgent(nodeId, token, new Dictionary<string, string> { ["FAKE_NVIDIA_SMI_FAIL"] = "1" });

        var view = await Poll.UntilAsync(
            () => admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"),
            v => v["inventoryError"] is not null,
            TimeSpan.FromSeconds(30),
            "the agent to report its nvidia-smi failure");

        Assert.Equal(0, view["gpuCount"]!.GetValue<int>());
        Assert.Equal("enrolled", view["status"]!.GetValue<string>());
        Assert.NotNull(view["lastHeartbeatAt"]);
        agent.Kill(entireProcessTree: true);
    }

    [Fact]
    public async Task Agent_WithJoinToken_EnrolsItselfKeepsItsOwnToken_AndEnrolsAgainWhenItIsRevoked()
    {
        using var admin = Server.CreateOperatorClient();
        var join = await Auth.NodeIdentityTests.IssueJoinTokenAsync(admin, new System.Text.Json.Nodes.JsonObject
        {
            ["region"] = "eu-west", ["provider"] = "own-dc", ["ownership"] = "owned", ["hourlyCostUsd"] = 30, ["maxUses"] = 2, ["nodeIdPrefix"] = "agent-joined-",
        });
        var directory = Directory.CreateTempSubdirectory("agent-join-");
        try
        {
            var tokenFile = Path.Combine(directory.FullName, "node-token");
            using var agent = StartAgent("agent-joined-1", token: null, new Dictionary<string, string>
            {
                ["CONTROLPLANE_JOIN_TOKEN"] = join["token"]!.GetValue<string>(),
                ["CONTROLPLANE_NODE_TOKEN_FILE"] = tokenFile,
            });

            await Poll.UntilAsync(
                async () =>
                {
                    using var response = await admin.GetAsync("/admin/v1/nodes/agent-joined-1");
                    return response.StatusCode;
                },
                s => s == System.Net.HttpStatusCode.OK,
                TimeSpan.FromSeconds(30),
                "the agent to enrol");
            var view = await Poll.UntilAsync(
                () => admin.GetJsonAsync("/admin/v1/nodes/agent-joined-1"),
                v => v["status"]!.GetValue<string>() == "ready",
                TimeSpan.FromSeconds(30),
                "the agent to enrol and heartbeat");
            Assert.Equal(30m, view["hourlyCostUsd"]!.GetValue<decimal>());
            var first = (await File.ReadAllTextAsync(tokenFile, TestContext.Current.CancellationToken)).Trim();
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenFile));
            }


            // Revoked: the agent's next heartbeat is refused, it enrols again with the join token and goes on.
            var revokedAt = DateTimeOffset.UtcNow;
            using (var revoke = await admin.DeleteAsync("/admin/v1/nodes/agent-joined-1/token"))
            {
                Assert.Equal(System.Net.HttpStatusCode.NoContent, revoke.StatusCode);
            }

            await Poll.UntilAsync(
                () => admin.GetJsonAsync("/admin/v1/nodes/agent-joined-1"),
                v => v["lastHeartbeatAt"]!.GetValue<DateTimeOffset>() > revokedAt.AddSeconds(1),
                TimeSpan.FromSeconds(30),
                "a heartbeat with the renewed token");
            Assert.NotEqual(first, (await File.ReadAllTextAsync(tokenFile, TestContext.Current.CancellationToken)).Trim());
            var listed = Assert.Single((await admin.GetJsonAsync("/admin/v1/join-tokens")).AsArray(), t => t!["tokenId"]!.GetValue<string>() == join["tokenId"]!.GetValue<string>())!;
            Assert.Equal(2, listed["uses"]!.GetValue<int>());
            agent.Kill(entireProcessTree: true);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private Process StartAgent(string nodeId, string? token, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ControlPlane.NodeAgent.dll"));
        info.ArgumentList.Add("--server");
        info.ArgumentList.Add(Server.BaseAddress.ToString().TrimEnd('/'));
        info.ArgumentList.Add("--node-id");
        info.ArgumentList.Add(nodeId);
        info.ArgumentList.Add("--nvidia-smi");
        info.ArgumentList.Add(RepoPaths.Combine("tests", "fixtures", "nvidia-smi", "fake-nvidia-smi.sh"));
        info.ArgumentList.Add("--runtime");
        info.ArgumentList.Add("simulated");
        // The token goes through the environment, as the systemd unit and the DaemonSet pass it.
        if (token is not null)
        {
            info.Environment["CONTROLPLANE_NODE_TOKEN"] = token;
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the agent.");
        new OutputLog().Attach(process);
        return process;
    }
}
