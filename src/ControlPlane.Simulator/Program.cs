using System.Runtime.InteropServices;
using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Live;
using ControlPlane.Simulator.Load;
using ControlPlane.Simulator.Simulation;

if (SimulatorOptions.IsHelpRequested(args))
{
    Console.Out.WriteLine(SimulatorOptions.Usage);
    return 0;
}

if (!SimulatorOptions.TryParse(args, Environment.GetEnvironmentVariable, out var options, out var error))
{
    Console.Error.WriteLine($"error: {error}");
    Console.Error.WriteLine(SimulatorOptions.Usage);
    return 2;
}

using var stopping = new CancellationTokenSource();
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

return options.Command switch
{
    SimulatorCommand.Demo => await new DemoCommand(options, Console.Out, Console.Error).RunAsync(stopping.Token),
    SimulatorCommand.Live => await new LiveCommand(options, Console.Out, Console.Error).RunAsync(stopping.Token),
    SimulatorCommand.LoadUsage => await new LoadUsageCommand(options, Console.Out, Console.Error).RunAsync(stopping.Token),
    SimulatorCommand.LoadHeartbeats => await new LoadHeartbeatsCommand(options, Console.Out, Console.Error).RunAsync(stopping.Token),
    SimulatorCommand.LoadFlood => await new LoadFloodCommand(options, Console.Out, Console.Error).RunAsync(stopping.Token),
    SimulatorCommand.Simulate => await new SimulateCommand(options, Console.Out, Console.Error).RunAsync(stopping.Token),
    _ => throw new InvalidOperationException($"no runner for {options.Command}"),
};

void Stop(PosixSignalContext context)
{
    // Handled here, so the runtime does not terminate the process before the agents and the server are stopped.
    context.Cancel = true;
    stopping.Cancel();
}
