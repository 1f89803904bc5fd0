using ControlPlane.Simulator.Cli;

namespace ControlPlane.Simulator.Live;

/// <summary><c>live</c>: the simulated fleet against a control plane that already runs, until Ctrl+C (or <c>--seconds</c>).</summary>
internal sealed class LiveCommand(SimulatorOptions options, TextWriter output, TextWriter error)
{
    public async Task<int> RunAsync(CancellationToken stopping)
    {
        var server = options.Server ?? throw new ArgumentException("live needs a server", nameof(options));
        var token = options.Token ?? throw new ArgumentException("live needs an operator token", nameof(options));
        output.WriteLine($"[live] simulating {options.Nodes} node{(options.Nodes == 1 ? "" : "s")} against {server}");
        LiveRun.PrintWhereToLook(output, "[live]", server, $"${SimulatorOptions.TokenVariable}");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var run = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        if (options.Seconds > 0)
        {
            run.CancelAfter(TimeSpan.FromSeconds(options.Seconds));
        }

        try
        {
            await LiveRun.RunAsync(new AdminClient(http, server, token), options, output, run.Token);
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
