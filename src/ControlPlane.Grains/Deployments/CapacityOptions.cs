namespace ControlPlane.Grains.Deployments;

/// <summary>Autoscaling and scheduling (configuration section <c>Capacity</c>).</summary>
public sealed class CapacityOptions
{
    public const string SectionName = "Capacity";

    /// <summary>How long demand must stay lower before a deployment scales down, so a flapping signal does not churn replicas.</summary>
    /// <value>60 seconds.</value>
    public int ScaleDownDelaySeconds { get; set; } = 60;

    /// <summary>
    /// How long a new replica is first expected to take to serve (a model load): the autoscaler keeps headroom for the
    /// rise demand may show within it, learned from each deployment's own traffic, and scales down only after demand
    /// stayed lower for at least this long. It is where each deployment's horizon starts: the deployment then learns
    /// its own from its replicas' observed load times (placed to ready). 0 scales to current demand with no headroom
    /// and learns nothing.
    /// </summary>
    /// <value>300 seconds (a 70B model loaded cold from object storage).</value>
    public int ForecastHorizonSeconds { get; set; } = 300;

    /// <summary>
    /// How often the scheduler looks again at deficits it could not place (changes are acted on at once; this is
    /// for work waiting on GPUs that no event will free, and a safety net).
    /// </summary>
    /// <value>5 seconds.</value>
    public int ReconcileSeconds { get; set; } = 5;

    /// <summary>
    /// How often the scheduler checks each dedicated deployment's SLO (ready capacity against demand up to the
    /// reservation), besides at every demand signal. A state holds from one check to the next if that comes within three
    /// periods; a longer silence is unmeasured time.
    /// </summary>
    /// <value>5 seconds.</value>
    public int SloSampleSeconds { get; set; } = 5;
}
