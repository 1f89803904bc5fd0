using ControlPlane.Contracts.Deployments;

namespace ControlPlane.Server.Api.Fleet;

/// <summary>One sample of the fleet's allocation: GPUs by pool per region, preemptions since the sample before, spilled demand.</summary>
/// <param name="Preemptions">Replicas preempted since the previous sample (0 for the first, and when the scheduler moved silo and its counter restarted).</param>
public sealed record CapacitySample(
    DateTimeOffset At,
    IReadOnlyList<RegionAllocation> Regions,
    long Preemptions,
    decimal SpilledTokensPerSecond);

public sealed record RegionAllocation(string Region, GpuAllocation Allocation);

/// <param name="SampleSeconds">How far apart samples are (<c>Console:CapacitySampleSeconds</c>).</param>
/// <param name="Samples">Oldest first, at most <c>Console:CapacityHistoryHours</c> of them.</param>
public sealed record CapacityHistoryResponse(int SampleSeconds, IReadOnlyList<CapacitySample> Samples);

/// <summary>
/// The capacity history the console draws: a bounded ring in this silo's memory, one sample per
/// <c>Console:CapacitySampleSeconds</c> (60) over the last <c>Console:CapacityHistoryHours</c> (6), taken from the
/// scheduler summary the fleet-metrics refresh reads anyway. Not durable: it starts empty when the silo starts, and each
/// silo keeps its own (the figures are cluster-wide, so any silo's ring tells the same story from when it started).
/// </summary>
public sealed class CapacityHistory
{
    private readonly Lock _lock = new();
    private readonly CapacitySample[] _ring;
    private int _next;
    private int _count;
    private long? _lastPreemptions;

    public CapacityHistory(IConfiguration configuration)
    {
        SampleSeconds = Math.Clamp(configuration.GetValue("Console:CapacitySampleSeconds", 60), 1, 3_600);
        var hours = Math.Clamp(configuration.GetValue("Console:CapacityHistoryHours", 6), 1, 48);
        _ring = new CapacitySample[Math.Max(1, hours * 3_600 / SampleSeconds)];
    }

    public int SampleSeconds { get; }

    /// <summary>Keeps a sample of <paramref name="summary"/> when the last one kept is at least a sample period old.</summary>
    public void Record(DateTimeOffset at, SchedulerSummary summary)
    {
        lock (_lock)
        {
            if (_count > 0 && at - _ring[(_next + _ring.Length - 1) % _ring.Length].At < TimeSpan.FromSeconds(SampleSeconds) * 0.9)
            {
                return;
            }

            var preempted = _lastPreemptions is { } last && summary.Preemptions >= last ? summary.Preemptions - last : 0;
            _lastPreemptions = summary.Preemptions;
            var regions = summary.Usage
                .GroupBy(u => u.Region, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new RegionAllocation(g.Key, GpuAllocation.Of(g)))
                .ToArray();
            _ring[_next] = new CapacitySample(at, regions, preempted, summary.SpilledTokensPerSecond);
            _next = (_next + 1) % _ring.Length;
            _count = Math.Min(_count + 1, _ring.Length);
        }
    }

    /// <summary>The samples kept, oldest first.</summary>
    public CapacityHistoryResponse Read()
    {
        lock (_lock)
        {
            var start = (_next - _count + _ring.Length) % _ring.Length;
            var samples = Enumerable.Range(0, _count).Select(i => _ring[(start + i) % _ring.Length]).ToArray();
            return new CapacityHistoryResponse(SampleSeconds, samples);
        }
    }
}
