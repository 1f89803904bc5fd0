using System.Diagnostics;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Deployments;

/// <summary>Real node agent processes with the simulated runtime and the stand-in <c>nvidia-smi</c> (8 x H100).</summary>
internal static class AgentProcesses
{
    /// <summary>Starts an agent for an enrolled node; replicas turn ready <paramref name="loadSeconds"/> after they start.</summary>
    /// <param name="cache">Its model cache directory, or null for none.</param>
    public static Process Start(ServerProcess server, string nodeId, string token, string? cache, int loadSeconds = 1) =>
        Start([server], nodeId, token, cache, loadSeconds, new OutputLog());

    /// <summary>
    /// Starts an agent that knows every server of <paramref name="servers"/> (it fails over between them); its output
    /// goes to <paramref name="output"/>.
    /// </summary>
    /// <param name="extraArguments">More of the agent's options (e.g. <c>--sleep-budget-gb</c>).</param>
    public static Process Start(IReadOnlyList<ServerProcess> servers, string nodeId, string token, string? cache, int loadSeconds, OutputLog output, params string[] extraArguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] arguments =
        [
            Path.Combine(AppContext.BaseDirectory, "ControlPlane.NodeAgent.dll"),
            "--server", string.Join(",", servers.Select(s => s.BaseAddress.ToString().TrimEnd('/'))),
            "--node-id", nodeId,
            "--nvidia-smi", RepoPaths.Combine("tests", "fixtures", "nvidia-smi", "fake-nvidia-smi.sh"),
            "--runtime", "simulated",
            "--load-seconds", loadSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            .. extraArguments,
        ];
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["CONTROLPLANE_NODE_TOKEN"] = token;
        if (cache is not null)
        {
            // Prefetching needs a cache to fetch into.
            info.ArgumentList.Add("--prefetch-seconds");
            info.ArgumentList.Add("1");
            info.Environment["CONTROLPLANE_MODEL_CACHE"] = cache;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the agent.");
        output.Attach(process);
        return process;
    }
}
