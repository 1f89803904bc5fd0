namespace ControlPlane.Server.Options;

/// <summary>How the process is run: the management port and shutdown (configuration section <c>Hosting</c>).</summary>
public sealed class HostingOptions
{
    public const string SectionName = "Hosting";

    /// <summary>
    /// A second HTTP port, on the host of the first URL, that serves <c>/health/*</c> and <c>/metrics</c> and
    /// nothing else; the API port then answers 404 for them. 0 serves them on the API port.
    /// </summary>
    /// <value>0.</value>
    public int ManagementPort { get; set; }

    /// <summary>
    /// How long a stopping silo has to finish requests and hand its grains off after SIGTERM (the host's
    /// shutdown timeout): keep it below Kubernetes' terminationGracePeriodSeconds less any preStop delay.
    /// </summary>
    /// <value>30.</value>
    public int ShutdownTimeoutSeconds { get; set; } = 30;
}
