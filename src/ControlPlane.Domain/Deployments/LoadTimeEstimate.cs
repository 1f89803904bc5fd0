namespace ControlPlane.Domain.Deployments;

/// <summary>
/// How long a deployment's next replica is expected to take from placement to serving, learned from its own loads:
/// the horizon its autoscaler provisions for. A slower load counts at once (a cold load after a failure, a node
/// without the weights); a faster one moves the estimate a fifth of the way down, so one lucky warm load does not
/// shrink the headroom that the next cold one would need.
/// </summary>
public static class LoadTimeEstimate
{
    /// <summary>The share of the way a faster load moves the estimate down.</summary>
    public const double FallRate = 0.2;

    public static TimeSpan Next(TimeSpan estimate, TimeSpan observed) =>
        observed >= estimate ? observed : estimate - ((estimate - observed) * FallRate);
}
