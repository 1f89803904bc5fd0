namespace ControlPlane.Server.Options;

/// <summary>Endpoints for measuring the server, off in production (configuration section <c>Diagnostics</c>).</summary>
public sealed class DiagnosticsOptions
{
    public const string SectionName = "Diagnostics";

    /// <summary>
    /// Maps <c>/diagnostics/v1</c>: the baselines that the simulator's load commands compare the real paths
    /// with (a bare endpoint that calls one grain; one plain grain-state write a request), and a memory
    /// report that forces a full garbage collection. The baselines take no token and the collection stalls
    /// the silo, so this is for a benchmark's own server only.
    /// </summary>
    /// <value>Default <see langword="false"/>.</value>
    public bool LoadBaselines { get; set; }

    /// <summary>
    /// Runs the server's clock this many seconds ahead of (or, negative, behind) the machine's, at the machine's pace:
    /// for tests that must watch a month or a quarter end pass (SLA periods, quarter closes) without waiting for one.
    /// Every silo of a cluster, and a silo started again on the same state, must be given the same offset. Never in production.
    /// </summary>
    /// <value>Default 0.</value>
    public long ClockOffsetSeconds { get; set; }
}
