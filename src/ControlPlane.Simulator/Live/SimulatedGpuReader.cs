using ControlPlane.NodeAgent.Gpus;
using ControlPlane.Simulator.Fleet;

namespace ControlPlane.Simulator.Live;

/// <summary>One GPU's reading as the simulator produced it (what nvidia-smi would have printed).</summary>
internal sealed record SimulatedGpu(
    int Index,
    string Uuid,
    string Name,
    long MemoryTotalMiB,
    long MemoryUsedMiB,
    int UtilizationPercent,
    int TemperatureC,
    double PowerWatts);

/// <summary>The GPUs of one read, or the error a broken nvidia-smi would have caused.</summary>
internal sealed record SimulatedReading(IReadOnlyList<SimulatedGpu> Gpus, string? Error);

/// <summary>
/// Stands in for nvidia-smi on a simulated node: fixed GPU identities, and load that drifts from read to
/// read (memory, temperature and power follow it), all from a seeded <see cref="Random"/> so that a seed
/// always gives the same readings. <see cref="Fail"/> makes reads fail until <see cref="Recover"/>.
/// </summary>
internal sealed class SimulatedGpuReader : IGpuReader
{
    /// <summary>What nvidia-smi reports when the driver is gone, as the real reader words it.</summary>
    public const string DriverFailure =
        "nvidia-smi exited with code 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
        + "Make sure that the latest NVIDIA driver is installed and running.; check that the NVIDIA driver is loaded (run nvidia-smi by hand) [simulated]";

    private const int AmbientC = 28;

    private readonly Lock _gate = new();
    private readonly Random _random;
    private readonly GpuModel _model;
    private readonly string[] _uuids;
    private readonly double[] _load;
    private readonly double[] _targetLoad;
    private string? _failure;

    public SimulatedGpuReader(GpuModel model, int gpuCount, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gpuCount, 1);
        _model = model;
        _random = new Random(seed);
        _uuids = Enumerable.Range(0, gpuCount).Select(_ => NewUuid(_random)).ToArray();
        _targetLoad = Enumerable.Range(0, gpuCount).Select(_ => _random.NextDouble()).ToArray();
        _load = (double[])_targetLoad.Clone();
    }

    public bool IsFailing
    {
        get
        {
            lock (_gate)
            {
                return _failure is not null;
            }
        }
    }

    /// <summary>Every read fails with <paramref name="error"/> until <see cref="Recover"/>.</summary>
    public void Fail(string error = DriverFailure)
    {
        lock (_gate)
        {
            _failure = error;
        }
    }

    public void Recover()
    {
        lock (_gate)
        {
            _failure = null;
        }
    }

    /// <summary>Takes the next reading: the load moves a step whether or not the read fails.</summary>
    public SimulatedReading Next()
    {
        lock (_gate)
        {
            var gpus = new SimulatedGpu[_uuids.Length];
            for (var i = 0; i < gpus.Length; i++)
            {
                gpus[i] = Step(i);
            }

            return _failure is { } error ? new SimulatedReading([], error) : new SimulatedReading(gpus, null);
        }
    }

    public Task<GpuReading> ReadAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var reading = Next();
        return Task.FromResult(reading.Error is { } error
            ? GpuReading.Failure(error)
            : GpuReading.Success(reading.Gpus.Select(ToReport).ToArray()));
    }

    private SimulatedGpu Step(int index)
    {
        // Now and then a GPU gets new work (or loses it); in between its load drifts towards that target.
        if (_random.NextDouble() < 0.1)
        {
            _targetLoad[index] = _random.NextDouble() < 0.15 ? 0 : 0.3 + (0.7 * _random.NextDouble());
        }

        var noise = (_random.NextDouble() - 0.5) * 0.1;
        var load = Math.Clamp(_load[index] + ((_targetLoad[index] - _load[index]) * 0.3) + noise, 0, 1);
        _load[index] = load;

        var memoryShare = load == 0 ? 0 : Math.Min(0.95, 0.25 + (0.7 * load));
        return new SimulatedGpu(
            index,
            _uuids[index],
            _model.Name,
            _model.MemoryMiB,
            MemoryUsedMiB: (long)(_model.MemoryMiB * memoryShare),
            UtilizationPercent: (int)Math.Round(load * 100),
            TemperatureC: AmbientC + (int)Math.Round((load * 50) + (_random.NextDouble() * 3)),
            PowerWatts: Math.Round(_model.IdleWatts + ((_model.MaxWatts - _model.IdleWatts) * load * (0.95 + (_random.NextDouble() * 0.05))), 2));
    }

    private static GpuReport ToReport(SimulatedGpu gpu) => new(
        gpu.Index,
        gpu.Uuid,
        gpu.Name,
        gpu.MemoryTotalMiB,
        gpu.MemoryUsedMiB,
        gpu.UtilizationPercent,
        gpu.TemperatureC,
        gpu.PowerWatts,
        EccUncorrected: 0);

    private static string NewUuid(Random random)
    {
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        return "GPU-" + new Guid(bytes).ToString("D");
    }
}
