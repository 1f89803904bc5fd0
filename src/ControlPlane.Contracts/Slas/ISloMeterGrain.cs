using ControlPlane.Domain.Slas;

namespace ControlPlane.Contracts.Slas;

/// <summary>
/// The SLO measurement of one dedicated deployment, keyed by <see cref="GrainKeys.SloMeter"/>: its minute verdicts per
/// day, durable (<see cref="SloBook"/>). The scheduler, which knows demand and ready replicas, sends the verdicts; the
/// deployment says when it was created and deleted; contracts read the measurement of a period.
/// </summary>
[Alias("ISloMeterGrain")]
public interface ISloMeterGrain : IGrainWithStringKey
{
    /// <summary>The deployment exists from <paramref name="at"/>. Idempotent.</summary>
    [Alias("StartAsync")]
    Task StartAsync(DateTimeOffset at);

    /// <summary>The deployment was deleted at <paramref name="at"/>. Idempotent.</summary>
    [Alias("StopAsync")]
    Task StopAsync(DateTimeOffset at);

    /// <summary>Records verdicts of minutes after the last one recorded; returns how many were new, once durable. A retry counts none twice.</summary>
    [Alias("RecordAsync")]
    Task<int> RecordAsync(List<SloMinuteVerdict> verdicts);

    /// <summary>The measurement of [<paramref name="from"/>, <paramref name="to"/>) as of <paramref name="asOf"/> (<see cref="SloBook.Measure"/>).</summary>
    [Alias("MeasureAsync")]
    Task<SloMeasurement> MeasureAsync(DateTimeOffset from, DateTimeOffset to, DateTimeOffset asOf);
}
