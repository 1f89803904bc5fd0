using ControlPlane.Contracts.Slas;
using ControlPlane.Domain.Slas;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Slas;

/// <summary>
/// One dedicated deployment's SLO minute verdicts, as one record (<see cref="SloBook"/>): a verdict and the mark of the
/// last minute recorded are written together, so after a failed write or a restart a resent verdict is either in the
/// record (and ignored) or not (and counted), never both.
/// </summary>
public sealed class SloMeterGrain(
    [PersistentState("slo-meter", "store")] IPersistentState<SloBook> state,
    ILogger<SloMeterGrain> logger) : Grain, ISloMeterGrain
{
    public async Task StartAsync(DateTimeOffset at)
    {
        if (state.State.Start(at))
        {
            await state.WriteOrReloadAsync(this, logger);
        }
    }

    public async Task StopAsync(DateTimeOffset at)
    {
        if (state.State.Stop(at))
        {
            await state.WriteOrReloadAsync(this, logger);
        }
    }

    public async Task<int> RecordAsync(List<SloMinuteVerdict> verdicts)
    {
        var taken = state.State.Record(verdicts);
        if (taken > 0)
        {
            await state.WriteOrReloadAsync(this, logger);
        }

        return taken;
    }

    public Task<SloMeasurement> MeasureAsync(DateTimeOffset from, DateTimeOffset to, DateTimeOffset asOf) =>
        Task.FromResult(state.State.Measure(from, to, asOf));
}
