using ControlPlane.Simulator.Simulation;

namespace ControlPlane.Simulator.Live;

/// <summary>
/// When a deployment's traffic spikes: from <paramref name="SpikeStart"/> into every <paramref name="Cycle"/>
/// (counted from the start of the run), for <paramref name="Spike"/>, its trace plays <paramref name="Factor"/>
/// times faster. The spike is a clock, not a random event, so a newcomer watching the demo surely sees one.
/// </summary>
internal sealed record SpikeSchedule(TimeSpan Cycle, TimeSpan SpikeStart, TimeSpan Spike, double Factor)
{
    /// <summary>Never spikes.</summary>
    public static readonly SpikeSchedule None = new(TimeSpan.FromSeconds(1), TimeSpan.Zero, TimeSpan.Zero, 1);

    public bool IsSpiking(TimeSpan elapsed)
    {
        var intoCycle = IntoCycle(elapsed);
        return Spike > TimeSpan.Zero && intoCycle >= SpikeStart.TotalSeconds && intoCycle < (SpikeStart + Spike).TotalSeconds;
    }

    /// <summary>Seconds of spike in [0, <paramref name="elapsed"/>).</summary>
    public double SpikeSecondsBefore(TimeSpan elapsed)
    {
        var cycles = Math.Floor(elapsed.TotalSeconds / Cycle.TotalSeconds);
        var inThisCycle = Math.Clamp(IntoCycle(elapsed) - SpikeStart.TotalSeconds, 0, Spike.TotalSeconds);
        return cycles * Spike.TotalSeconds + inThisCycle;
    }

    private double IntoCycle(TimeSpan elapsed)
    {
        var seconds = elapsed.TotalSeconds % Cycle.TotalSeconds;
        return seconds < 0 ? seconds + Cycle.TotalSeconds : seconds;
    }
}

/// <summary>
/// One deployment's traffic: a trace played in a loop from <paramref name="startSeconds"/> at <paramref name="speed"/>
/// trace seconds per real second, <see cref="SpikeSchedule.Factor"/> times faster while it spikes. Speed, not a
/// multiplier on token counts, sets the rate, so the demand the gateway reports and the usage it meters are the
/// same requests: what a customer is billed for is what the deployment was scaled for.
/// </summary>
/// <param name="trace">The requests.</param>
/// <param name="startSeconds">Where in the trace the run starts.</param>
/// <param name="speed">Trace seconds per real second outside spikes.</param>
/// <param name="spikes">When it plays faster.</param>
/// <param name="smoothingTraceSeconds">Trace seconds the demand averages the trace's rate over: a real trace is bursty, and a deployment should not scale on one long prompt.</param>
internal sealed class TraceReplay(Trace trace, double startSeconds, double speed, SpikeSchedule spikes, double smoothingTraceSeconds)
{
    public const double DefaultSmoothingTraceSeconds = 10;

    public Trace Trace => trace;

    /// <summary>Trace seconds per real second outside spikes.</summary>
    public double Speed => speed;

    public SpikeSchedule Spikes => spikes;

    /// <summary>
    /// A replay of <paramref name="trace"/> whose token rate, outside spikes, is <paramref name="meanTokensPerSecond"/>
    /// on average over the trace.
    /// </summary>
    public static TraceReplay ForMeanRate(Trace trace, double meanTokensPerSecond, double startSeconds, SpikeSchedule spikes) =>
        new(trace, startSeconds, meanTokensPerSecond / trace.MeanTokensPerSecond, spikes, DefaultSmoothingTraceSeconds);

    public double SpeedAt(TimeSpan elapsed) => spikes.IsSpiking(elapsed) ? speed * spikes.Factor : speed;

    /// <summary>Where in (looped) trace time the replay is <paramref name="elapsed"/> after it started.</summary>
    public double PositionAt(TimeSpan elapsed) =>
        startSeconds + speed * (elapsed.TotalSeconds + (spikes.Factor - 1) * spikes.SpikeSecondsBefore(elapsed));

    /// <summary>
    /// The demand to report <paramref name="elapsed"/> after the start, in whole tokens per second: the trace's
    /// token rate over the last <c>smoothingTraceSeconds</c> of trace time, times the speed it plays at now (so a
    /// spike shows at once).
    /// </summary>
    public decimal DemandAt(TimeSpan elapsed)
    {
        var position = PositionAt(elapsed);
        var rate = trace.TokensBetween(position - smoothingTraceSeconds, position) / smoothingTraceSeconds;
        return (decimal)Math.Round(rate * SpeedAt(elapsed), MidpointRounding.AwayFromZero);
    }

    /// <summary>The requests replayed from <paramref name="from"/> to <paramref name="to"/> after the start, each once however the run is cut into intervals.</summary>
    public IReadOnlyList<TraceRequest> RequestsBetween(TimeSpan from, TimeSpan to) =>
        trace.RequestsBetween(PositionAt(from), PositionAt(to)).ToArray();
}
