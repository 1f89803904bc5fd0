using System.Globalization;
using ControlPlane.NodeAgent.Models;
using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Fleet;

namespace ControlPlane.Simulator.Live;

/// <summary>What <c>demo</c> and <c>live</c> share: enroll the simulated nodes, run their agents, chaos and the summary.</summary>
internal static class LiveRun
{
    public static readonly TimeSpan SummaryInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> is cancelled, with the gateway's <paramref name="traffic"/> when
    /// there is one; the agents are stopped when it returns.
    /// </summary>
    /// <param name="modelCacheRoot">Where the nodes' model caches go (a directory per node); null: the nodes report none.</param>
    /// <exception cref="AdminApiException">A node could not be enrolled.</exception>
    public static async Task RunAsync(AdminClient admin, SimulatorOptions options, TextWriter output, CancellationToken cancellationToken, GatewayTraffic? traffic = null, string? modelCacheRoot = null)
    {
        var enrolled = new List<(NodeSpec Spec, string Token)>();
        foreach (var node in FleetPlan.Create(options.Nodes))
        {
            enrolled.Add((node, await admin.EnrollAsync(node, cancellationToken)));
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"[fleet] enrolled {node.NodeId}: {node.Region}, {node.GpuCount} x {node.Gpu.Name} ({node.Gpu.MemoryMiB} MiB), {node.Ownership} from {node.Provider}, {node.HourlyCostUsd:0.00} USD/h"));
        }

        await using var fleet = new LiveFleet(admin.Server, enrolled, options.Seed, output, modelCacheRoot: modelCacheRoot);
        fleet.StartAll();
        output.WriteLine($"[fleet] {enrolled.Count} node agents running (the real heartbeat loop; nvidia-smi simulated), a summary every {SummaryInterval.TotalSeconds:0} s");
        if (modelCacheRoot is not null)
        {
            output.WriteLine($"[fleet] model caches in {modelCacheRoot}/<node>: loaded weights stay warm there, prefetches take {SimulatedModelFetcher.DefaultSeconds} s (simulated)");
        }
        output.WriteLine(options.ChaosSeconds > 0
            ? $"[chaos] every {options.ChaosSeconds} s a node crashes and comes back {options.ChaosSeconds * ChaosSchedule.CrashTicks} s later; once, a node's nvidia-smi fails for {options.ChaosSeconds} s"
            : "[chaos] off");

        var chaos = options.ChaosSeconds > 0
            ? Chaos.RunAsync(fleet, TimeSpan.FromSeconds(options.ChaosSeconds), output, cancellationToken)
            : Task.CompletedTask;
        var demand = traffic?.RunAsync(admin, enrolled.Sum(n => n.Spec.GpuCount), output, cancellationToken) ?? Task.CompletedTask;
        await PrintSummariesAsync(admin, output, cancellationToken);
        await chaos;
        await demand;
        output.WriteLine("[fleet] stopping the node agents");
    }

    /// <summary>
    /// How the printed <c>curl</c> lines name the operator token: as <c>$CONTROLPLANE_OPERATOR_TOKEN</c> when that variable
    /// holds it (so the secret is not echoed and the lines work in the same shell), otherwise as the token itself (given
    /// with <c>--token</c>, the variable would be empty where the lines are pasted).
    /// </summary>
    public static string TokenForCurl(string token, string? environmentToken) =>
        string.Equals(environmentToken?.Trim(), token, StringComparison.Ordinal) ? $"${SimulatorOptions.TokenVariable}" : token;

    /// <summary>Where to look while the fleet runs: the admin API, metrics, the OpenAPI document.</summary>
    public static void PrintWhereToLook(TextWriter output, string prefix, Uri server, string tokenText)
    {
        var root = server.AbsoluteUri.TrimEnd('/');
        output.WriteLine($"""
            {prefix} look around (in another terminal):
                     curl -s -H "Authorization: Bearer {tokenText}" {root}/admin/v1/nodes
                     curl -s -H "Authorization: Bearer {tokenText}" {root}/admin/v1/pools
                     curl -s -H "Authorization: Bearer {tokenText}" {root}/admin/v1/deployments
                     curl -s {root}/metrics | grep '^controlplane_'
                     curl -s {root}/openapi/v1.json
            """);
    }

    /// <summary>
    /// The operator console's and the customer portal's addresses, each with a token in its fragment so that opening it
    /// signs in at once (a fragment never leaves the browser; the page takes it out of the address bar).
    /// </summary>
    public static async Task PrintWebUiAsync(AdminClient admin, TextWriter output, string prefix, Uri server, string operatorToken, string customerId, CancellationToken cancellationToken)
    {
        var root = server.AbsoluteUri.TrimEnd('/');
        output.WriteLine($"{prefix} operator console: {root}/console#token={Uri.EscapeDataString(operatorToken)}");
        try
        {
            var customerToken = (await admin.PostAsync("admin/v1/tokens", new { role = "customer", subject = customerId }, cancellationToken))
                .GetProperty("token").GetString()!;
            output.WriteLine($"{prefix} customer portal ({customerId}): {root}/portal#token={Uri.EscapeDataString(customerToken)}");
        }
        catch (AdminApiException e)
        {
            output.WriteLine($"{prefix} no customer portal link: {e.Message}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static async Task PrintSummariesAsync(AdminClient admin, TextWriter output, CancellationToken cancellationToken)
    {
        var summary = new FleetSummary();
        using var timer = new PeriodicTimer(SummaryInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    var nodes = await admin.ListNodesAsync(cancellationToken);
                    var pools = await admin.ListPoolsAsync(cancellationToken);
                    output.Write(summary.Render(DateTimeOffset.Now, nodes, pools));
                }
                catch (AdminApiException e)
                {
                    output.WriteLine($"[fleet] cannot read the fleet: {e.Message}");
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
