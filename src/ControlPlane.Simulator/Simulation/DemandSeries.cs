namespace ControlPlane.Simulator.Simulation;

/// <summary>
/// A deployment's demand, in tokens per second, for each step of the simulated timeline, taken from a trace through
/// a <see cref="TrafficMapping"/>. Step k covers simulated seconds [k·step, (k+1)·step); its demand is the trace's
/// token rate around the matching trace time, times the rate scale:
/// <code>
///   trace time of the step's middle  m = (k·step + step/2 + shiftHours·3600) / stretch
///   window (trace seconds)           w = max(smoothingSeconds, step / stretch)
///   demand                           = rateScale × tokens of requests arriving in [m − w/2, m + w/2) / w
/// </code>
/// The trace loops, so a one-hour trace drives a day (with stretch 1 it repeats every hour; with stretch 24 its
/// rise and fall become a day's). The rate is a rate of the trace, whatever the stretch: stretching slows time, it
/// does not thin the traffic.
/// </summary>
internal static class DemandSeries
{
    public static double[] Build(Trace trace, TrafficMapping mapping, int steps, int stepSeconds)
    {
        var series = new double[steps];
        var window = Math.Max(mapping.SmoothingSeconds, stepSeconds / mapping.Stretch);
        var shift = mapping.ShiftHours * 3600;
        for (var k = 0; k < steps; k++)
        {
            var middle = ((double)k * stepSeconds + stepSeconds / 2.0 + shift) / mapping.Stretch;
            series[k] = mapping.RateScale * trace.TokensBetween(middle - window / 2, middle + window / 2) / window;
        }

        return series;
    }
}
