namespace ControlPlane.Grains.Deployments;

/// <summary>Autoscaling and scheduling (configuration section <c>Capacity</c>).</summary>
public sealed class CapacityOptions
{
    public const string SectionName = "Capacity";

    /// <summary>How long demand must stay lower before a deployment scales down, so a flapping signal does not churn replicas.</summary>
    /// <value>60 seconds.</value>
    public int ScaleDownDelaySeconds { get; set; } = 60;

    /// <summary>
    /// How often the scheduler looks again at deficits it could not place (changes are acted on at once; this is
    /// for work waiting on GPUs that no event will free, and a safety net).
    /// </summary>
    /// <value>5 seconds.</value>
    public int ReconcileSeconds { get; set; } = 5;
}
