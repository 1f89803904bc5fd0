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
}
