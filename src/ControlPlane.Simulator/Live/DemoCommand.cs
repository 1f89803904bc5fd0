using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Simulation;

namespace ControlPlane.Simulator.Live;

/// <summary>
/// <c>demo</c>: the real control plane in a child process on its embedded default, then the simulated
/// fleet and gateway against it until Ctrl+C (or <c>--seconds</c>). Exit code 0 when stopped, 1 when the
/// trace cannot be read or the server failed to start or died.
/// </summary>
internal sealed class DemoCommand(SimulatorOptions options, TextWriter output, TextWriter error)
{
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    // A Ctrl+C in a terminal reaches the server too, which may stop before this process hears of it.
    private static readonly TimeSpan SignalGrace = TimeSpan.FromSeconds(2);

    public async Task<int> RunAsync(CancellationToken stopping)
    {
        // Read before anything starts: a wrong --trace is an error at once, not after the server is up.
        GatewayTraffic traffic;
        try
        {
            traffic = new GatewayTraffic(GatewayTraffic.LoadTrace(options.TracePath));
        }
        catch (TraceFormatException e)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }

        var dataDirectory = Path.GetFullPath(options.DataDirectory);
        output.WriteLine($"[demo] starting the control plane: dotnet {ServerChild.ServerAssembly} on http://127.0.0.1:{options.Port} (data directory {dataDirectory}, heartbeats every {ServerChild.HeartbeatIntervalSeconds} s)");

        ServerChild server;
        try
        {
            server = ServerChild.Start(options.Port, dataDirectory, output);
        }
        catch (ServerChildException e)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }

        await using (server)
        {
            output.WriteLine($"[demo] control plane started (pid {server.ProcessId}); waiting for {server.BaseAddress}health/ready");
            string token;
            try
            {
                await server.WaitUntilReadyAsync(ReadyTimeout, stopping);
                token = await server.ReadOperatorTokenAsync(stopping);
            }
            catch (ServerChildException e)
            {
                error.WriteLine($"error: {e.Message}");
                if (e.Message.Contains("already in use", StringComparison.OrdinalIgnoreCase))
                {
                    // The server's own hint names its --urls, which the demo sets from --port.
                    error.WriteLine($"hint: the demo sets the control plane's port with --port (e.g. --port {(options.Port == 65535 ? 5080 : options.Port + 1)})");
                }

                return 1;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                output.WriteLine($"[demo] stopped before the control plane was ready; killing it (pid {server.ProcessId})");
                return 0;
            }

            output.WriteLine($"[demo] control plane ready at {server.BaseAddress}; operator token in {server.OperatorTokenFile}");
            LiveRun.PrintWhereToLook(output, "[demo]", server.BaseAddress, token);

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var admin = new AdminClient(http, server.BaseAddress, token);
            await LiveRun.PrintWebUiAsync(admin, output, "[demo]", server.BaseAddress, token, GatewayTraffic.Customer, stopping);
            using var run = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            if (options.Seconds > 0)
            {
                run.CancelAfter(TimeSpan.FromSeconds(options.Seconds));
            }

            // The nodes' model caches live with the demo's state, so a second run starts with warm weights.
            var fleet = LiveRun.RunAsync(admin, options, output, run.Token, traffic, Path.Combine(dataDirectory, "model-cache"));
            if (await Task.WhenAny(fleet, server.Exited) == server.Exited)
            {
                await Task.Delay(SignalGrace, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                await run.CancelAsync();
                await fleet.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (!stopping.IsCancellationRequested)
                {
                    error.WriteLine($"error: {server.Stopped("stopped unexpectedly").Message}");
                    return 1;
                }
            }
            else
            {
                try
                {
                    await fleet;
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
            }

            output.WriteLine($"[demo] stopping the control plane (pid {server.ProcessId})");
        }

        output.WriteLine("[demo] stopped");
        return 0;
    }
}
