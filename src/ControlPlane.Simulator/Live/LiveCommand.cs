using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Simulation;

namespace ControlPlane.Simulator.Live;

/// <summary>
/// <c>live</c>: the simulated fleet and, unless <c>--no-traffic</c>, the simulated gateway against a control plane
/// that already runs, until Ctrl+C (or <c>--seconds</c>).
/// </summary>
internal sealed class LiveCommand(SimulatorOptions options, TextWriter output, TextWriter error)
{
    public async Task<int> RunAsync(CancellationToken stopping)
    {
        var server = options.Server ?? throw new ArgumentException("live needs a server", nameof(options));
        var token = options.Token ?? throw new ArgumentException("live needs an operator token", nameof(options));
        GatewayTraffic? traffic = null;
        if (options.Traffic)
        {
            try
            {
                traffic = new GatewayTraffic(GatewayTraffic.LoadTrace(options.TracePath));
            }
            catch (TraceFormatException e)
            {
                error.WriteLine($"error: {e.Message}");
                return 1;
            }
        }

        output.WriteLine($"[live] simulating {options.Nodes} node{(options.Nodes == 1 ? "" : "s")}{(traffic is null ? "" : " and a gateway")} against {server}");
        LiveRun.PrintWhereToLook(output, "[live]", server, LiveRun.TokenForCurl(token, Environment.GetEnvironmentVariable(SimulatorOptions.TokenVariable)));

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var run = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        if (options.Seconds > 0)
        {
            run.CancelAfter(TimeSpan.FromSeconds(options.Seconds));
        }

        try
        {
            await LiveRun.RunAsync(new AdminClient(http, server, token), options, output, run.Token, traffic);
        }
        catch (AdminApiException e)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (run.IsCancellationRequested)
        {
            // Stopped while enrolling.
        }

        output.WriteLine("[live] stopped");
        return 0;
    }
}
