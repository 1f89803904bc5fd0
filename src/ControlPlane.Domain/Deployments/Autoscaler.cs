namespace ControlPlane.Domain.Deployments;

/// <summary>Where a deployment's autoscaling stands; stored with the deployment.</summary>
/// <param name="Desired">Replicas the deployment should run now.</param>
/// <param name="LowerSince">
/// When demand started wanting fewer than <paramref name="Desired"/> replicas without a break; null while
/// it wants at least as many.
/// </param>
/// <param name="LowerPeak">The most replicas demand has wanted since <paramref name="LowerSince"/>: what a scale-down goes to.</param>
[GenerateSerializer, Alias("autoscale-state")]
public sealed record AutoscaleState(
    [property: Id(0)] int Desired,
    [property: Id(1)] DateTimeOffset? LowerSince,
    [property: Id(2)] int LowerPeak);

/// <summary>
/// Turns demand into desired replicas: up at once, down only after demand has stayed lower for
/// <see cref="ScaleDownDelay"/>, so a flapping signal does not start and stop replicas. The deployment grain
/// calls <see cref="Next"/> on every demand signal and on a timer with the last demand (without a new signal,
/// nothing else would notice that the delay has passed).
/// </summary>
/// <param name="ScaleDownDelay">How long demand must stay lower before replicas are released.</param>
public sealed record Autoscaler(TimeSpan ScaleDownDelay)
{
    public static readonly TimeSpan DefaultScaleDownDelay = TimeSpan.FromSeconds(60);

    public static Autoscaler Default { get; } = new(DefaultScaleDownDelay);

    /// <summary>A new deployment starts at its minimum and waits for demand.</summary>
    public static AutoscaleState Start(DeploymentSpec spec) => new(Clamp(spec, spec.MinReplicas), null, 0);

    /// <summary>
    /// The replicas <paramref name="tokensPerSecond"/> asks for: ceil(demand / throughput per replica) within
    /// [min, max]. A batch deployment with any demand wants its maximum: its demand is a backlog that more
    /// replicas finish sooner, not a rate that a number of replicas keeps up with.
    /// </summary>
    public static int Wanted(DeploymentSpec spec, decimal tokensPerSecond)
    {
        if (tokensPerSecond <= 0)
        {
            return Clamp(spec, 0);
        }

        if (spec.Class == DeploymentClass.Batch || spec.TokensPerSecondPerReplica <= 0)
        {
            return Clamp(spec, spec.MaxReplicas);
        }

        // Compared before dividing so that a huge demand cannot overflow the quotient.
        if (tokensPerSecond >= spec.TokensPerSecondPerReplica * spec.MaxReplicas)
        {
            return Clamp(spec, spec.MaxReplicas);
        }

        return Clamp(spec, (int)decimal.Ceiling(tokensPerSecond / spec.TokensPerSecondPerReplica));
    }

    /// <summary>
    /// The state after demand <paramref name="tokensPerSecond"/> is seen at <paramref name="now"/>. Bounds
    /// changed by a new spec apply at once (they are an operator's decision, not a demand signal). A
    /// scale-down goes to the most that demand has wanted during the lower stretch, so no signal of the last
    /// <see cref="ScaleDownDelay"/> is left with fewer replicas than it asked for.
    /// </summary>
    public AutoscaleState Next(AutoscaleState state, DeploymentSpec spec, decimal tokensPerSecond, DateTimeOffset now)
    {
        var wanted = Wanted(spec, tokensPerSecond);
        var current = Clamp(spec, state.Desired);
        if (wanted >= current)
        {
            return new AutoscaleState(wanted, null, 0);
        }

        // A lower stretch goes on only while the desired count it is measured against stays the same.
        var going = state.LowerSince is not null && current == state.Desired;
        var since = going ? state.LowerSince!.Value : now;
        var peak = going ? Math.Max(state.LowerPeak, wanted) : wanted;
        if (now - since < ScaleDownDelay)
        {
            return new AutoscaleState(current, since, peak);
        }

        // Scaled down to the peak; if demand now wants even fewer, that is the start of the next stretch.
        return peak > wanted ? new AutoscaleState(peak, now, wanted) : new AutoscaleState(peak, null, 0);
    }

    /// <summary>When the pending scale-down (if any) becomes due: when the grain's timer should look again.</summary>
    public DateTimeOffset? ScaleDownDueAt(AutoscaleState state) => state.LowerSince + ScaleDownDelay;

    private static int Clamp(DeploymentSpec spec, int replicas) => Math.Min(Math.Max(replicas, spec.MinReplicas), spec.MaxReplicas);
}
