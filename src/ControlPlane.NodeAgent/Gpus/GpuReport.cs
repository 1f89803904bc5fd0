namespace ControlPlane.NodeAgent.Gpus;

/// <summary>One GPU as nvidia-smi sees it, and as the heartbeat reports it.</summary>
/// <remarks>Every measurement is <see langword="null"/> when nvidia-smi answers <c>[N/A]</c> or <c>[Not Supported]</c>.</remarks>
internal sealed record GpuReport(
    int Index,
    string Uuid,
    string Name,
    long? MemoryTotalMiB,
    long? MemoryUsedMiB,
    int? UtilizationPercent,
    int? TemperatureC,
    double? PowerWatts,
    long? EccUncorrected);
