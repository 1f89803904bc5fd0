namespace ControlPlane.NodeAgent.Gpus;

/// <summary>Reads the node's GPUs; never throws for a broken tool, only for cancellation.</summary>
internal interface IGpuReader
{
    Task<GpuReading> ReadAsync(CancellationToken cancellationToken);
}

/// <summary>The GPUs found, or why none could be read (one line, saying what to fix).</summary>
internal sealed record GpuReading(IReadOnlyList<GpuReport> Gpus, string? Error)
{
    public static GpuReading Success(IReadOnlyList<GpuReport> gpus) => new(gpus, null);

    public static GpuReading Failure(string error) => new([], error);
}
