using System.Runtime.InteropServices;
using ControlPlane.Simulator.Cli;

using var stopping = new CancellationTokenSource();
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

return await SimulatorCli.RunAsync(args, Environment.GetEnvironmentVariable, Console.Out, Console.Error, stopping.Token);

void Stop(PosixSignalContext context)
{
    // Handled here, so the runtime does not terminate the process before the agents and the server are stopped.
    context.Cancel = true;
    stopping.Cancel();
}
