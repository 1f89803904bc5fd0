namespace ControlPlane.Server.Hosting;

/// <summary>
/// The machine's clock moved by a fixed offset (<see cref="Options.DiagnosticsOptions.ClockOffsetSeconds"/>): wall time
/// only; timestamps and timers run as the machine's do.
/// </summary>
public sealed class OffsetTimeProvider(TimeSpan offset) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
}
