namespace ControlPlane.Domain.Deployments;

/// <summary>Where a deployment's autoscaling stands; stored with the deployment.</summary>
/// <param name="Desired">Replicas the deployment should run now.</param>
/// <param name="LowerSince">
/// When demand started wanting fewer than <paramref name="Desired"/> replicas without a break; null while
/// it wants at least as many.
/// </param>
/// <param name="LowerPeak">The most replicas demand has wanted since <paramref name="LowerSince"/>: what a scale-down goes to.</param>
/// <param name="Recent">Demand seen over the last forecast horizon, in buckets (null before the first signal).</param>
/// <param name="Rise">
/// The learned burstiness: the largest rise of demand within one horizon seen lately (tokens per second), decaying
/// by half every <see cref="Forecast.RiseHalfLife"/> since <paramref name="RiseAt"/>.
/// </param>
/// <param name="RiseAt">When <paramref name="Rise"/> was last set.</param>
/// <param name="QuickRise">
/// The largest rise of demand within one scale-down delay seen lately, decaying like <paramref name="Rise"/>: what the
/// replicas that run keep above demand (<see cref="Autoscaler.Awake"/>), because a rise waits a wake before a sleeping
/// engine serves it, and the control plane sees a rise only at the next demand signal.
/// </param>
/// <param name="LearningSince">
/// When the deployment's rises started being learned (its first demand signal with a forecast; for a state stored before
/// this field, the first signal after). Until one <see cref="Forecast.RiseHalfLife"/> has passed, <paramref name="QuickRise"/>
/// has not seen enough traffic to be trusted, so all the headroom runs (<see cref="Autoscaler.Awake"/>).
/// </param>
[GenerateSerializer, Alias("autoscale-state")]
public sealed record AutoscaleState(
    [property: Id(0)] int Desired,
    [property: Id(1)] DateTimeOffset? LowerSince,
    [property: Id(2)] int LowerPeak,
    [property: Id(3)] IReadOnlyList<DemandBucket>? Recent = null,
    [property: Id(4)] decimal Rise = 0,
    [property: Id(5)] DateTimeOffset? RiseAt = null,
    [property: Id(6)] decimal QuickRise = 0,
    [property: Id(7)] DateTimeOffset? LearningSince = null);

/// <summary>The least and most demand seen in one time bucket that starts at <paramref name="Start"/>.</summary>
[GenerateSerializer, Alias("demand-bucket")]
public sealed record DemandBucket(
    [property: Id(0)] DateTimeOffset Start,
    [property: Id(1)] decimal Min,
    [property: Id(2)] decimal Max);

/// <summary>
/// How far ahead the autoscaler provisions: <paramref name="Horizon"/> is the time a new replica takes to serve (its
/// model's load time, plus however long the next decision may wait), so capacity asked for now is what demand may need
/// until then. The same defaults serve every deployment and every fleet: what differs between deployments is learned
/// from each one's own traffic, not set by hand.
/// </summary>
/// <param name="Horizon">How long a replica placed now takes to serve.</param>
/// <param name="RiseHalfLife">How fast a learned rise is forgotten: a burst an hour ago weighs half what it did.</param>
public sealed record Forecast(TimeSpan Horizon, TimeSpan RiseHalfLife)
{
    public static readonly TimeSpan DefaultRiseHalfLife = TimeSpan.FromHours(1);

    /// <summary>Buckets the horizon is split into: rises are seen at this resolution.</summary>
    public const int BucketsPerHorizon = 8;

    /// <summary>The defaults for a horizon.</summary>
    public static Forecast For(TimeSpan horizon) => new(horizon, DefaultRiseHalfLife);

    internal TimeSpan BucketWidth => Horizon <= TimeSpan.Zero ? TimeSpan.FromSeconds(1) : Horizon / BucketsPerHorizon;
}

/// <summary>
/// Turns demand into desired replicas: up at once, down only after demand has stayed lower for
/// <see cref="ScaleDownDelay"/> (and, with a forecast, for at least its horizon: a replica released now could not be
/// back sooner), so a flapping signal does not start and stop replicas. The deployment grain calls <see cref="Next"/>
/// on every demand signal and on a timer with the last demand (without a new signal, nothing else would notice that
/// the delay has passed).
/// <para>
/// With a <see cref="Forecast"/>, rate-driven deployments (dedicated and serverless) are given headroom above their
/// current demand, because a rise waits a whole model load before new replicas serve it: the capacity asked for is the
/// current demand plus the largest rise within one horizon the deployment has shown lately (its own burstiness,
/// learned and slowly forgotten) or the deployment's own <see cref="DeploymentSpec.HeadroomPercent"/>, never less than
/// the most demand seen within the horizon. Headroom is not idle: a
/// dedicated replica's spare tokens serve shared requests of the same model at lower priority.
/// </para>
/// </summary>
/// <param name="ScaleDownDelay">How long demand must stay lower before replicas are released.</param>
/// <param name="Forecast">Headroom and learning; null scales to the current demand alone.</param>
public sealed record Autoscaler(TimeSpan ScaleDownDelay, Forecast? Forecast = null)
{
    public static readonly TimeSpan DefaultScaleDownDelay = TimeSpan.FromSeconds(60);

    /// <summary>Scales to current demand, with the default delay and no forecast.</summary>
    public static Autoscaler Default { get; } = new(DefaultScaleDownDelay);

    /// <summary>A new deployment starts at its minimum and waits for demand.</summary>
    public static AutoscaleState Start(DeploymentSpec spec) => new(Clamp(spec, spec.MinReplicas), null, 0);

    /// <summary>
    /// <paramref name="state"/> within the limits of <paramref name="spec"/> at once, without a demand signal (an operator
    /// changed them: no demand is made up, and what was learned is kept). A desired count the limits move starts any lower
    /// stretch again (it was measured against the old count); a pending scale-down whose target the limits move goes to
    /// the target within them, and is dropped when that is no longer below the desired count.
    /// </summary>
    public static AutoscaleState Limit(AutoscaleState state, DeploymentSpec spec)
    {
        var desired = Clamp(spec, state.Desired);
        if (desired != state.Desired)
        {
            return state with { Desired = desired, LowerSince = null, LowerPeak = 0 };
        }

        if (state.LowerSince is null)
        {
            return state;
        }

        var peak = Clamp(spec, state.LowerPeak);
        return peak < desired ? state with { LowerPeak = peak } : state with { LowerSince = null, LowerPeak = 0 };
    }

    /// <summary>How long demand must stay lower before a scale-down: the delay, and with a forecast at least its horizon.</summary>
    public TimeSpan EffectiveScaleDownDelay => Forecast is { } f && f.Horizon > ScaleDownDelay ? f.Horizon : ScaleDownDelay;

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
    /// <see cref="EffectiveScaleDownDelay"/> is left with fewer replicas than it asked for.
    /// </summary>
    public AutoscaleState Next(AutoscaleState state, DeploymentSpec spec, decimal tokensPerSecond, DateTimeOffset now)
    {
        var demand = Math.Max(0, tokensPerSecond);
        var (recent, rise, riseAt, quick) = Learn(state, spec.Class != DeploymentClass.Batch, demand, now);
        var learning = Forecast is null || spec.Class == DeploymentClass.Batch ? state.LearningSince : state.LearningSince ?? now;
        var wanted = WantedWithHeadroom(spec, demand, recent, rise);
        var current = Clamp(spec, state.Desired);
        if (wanted >= current)
        {
            return new AutoscaleState(wanted, null, 0, recent, rise, riseAt, quick, learning);
        }

        // A lower stretch goes on only while the desired count it is measured against stays the same.
        var going = state.LowerSince is not null && current == state.Desired;
        var since = going ? state.LowerSince!.Value : now;
        var peak = going ? Math.Max(state.LowerPeak, wanted) : wanted;
        if (now - since < EffectiveScaleDownDelay)
        {
            return new AutoscaleState(current, since, peak, recent, rise, riseAt, quick, learning);
        }

        // Scaled down to the peak; if demand now wants even fewer, that is the start of the next stretch.
        return peak > wanted
            ? new AutoscaleState(peak, now, wanted, recent, rise, riseAt, quick, learning)
            : new AutoscaleState(peak, null, 0, recent, rise, riseAt, quick, learning);
    }

    /// <summary>
    /// The replicas a demand asks for with this autoscaler's headroom, given what was learned: for a rate-driven
    /// deployment, enough for the demand plus the learned rise (or its own headroom percentage) and for the most
    /// demand seen within the horizon, within [min, max].
    /// </summary>
    public int WantedWithHeadroom(DeploymentSpec spec, decimal demand, IReadOnlyList<DemandBucket>? recent, decimal rise)
    {
        if (Forecast is null || spec.Class == DeploymentClass.Batch || demand <= 0 || spec.TokensPerSecondPerReplica <= 0)
        {
            return Wanted(spec, demand);
        }

        var headroom = spec.HeadroomPercent is { } percent ? demand * percent / 100m : rise;
        var target = demand + headroom;
        if (recent is not null)
        {
            foreach (var bucket in recent)
            {
                target = Math.Max(target, bucket.Max);
            }
        }

        return Wanted(spec, target);
    }

    /// <summary>
    /// Of a dedicated or serverless deployment's desired replicas, how many must run at <paramref name="now"/>: all of them
    /// while its rises are still being learned (<see cref="AutoscaleState.LearningSince"/>), then enough for the
    /// most demand seen within the scale-down delay and for the latest demand plus its <see cref="AutoscaleState.QuickRise"/>
    /// (what a rise may add before a woken engine serves), within [min, desired]. The rest of the headroom may be held by the
    /// deployment's sleeping engines instead of running replicas (<see cref="ScheduledDeployment.Awake"/>): a wake takes
    /// seconds where a load takes minutes, and placement keeps other replicas off a sleeping engine's GPUs when it has the
    /// choice, so the engine can wake where it sleeps. Null for batch (a backlog, not a rate) and without a forecast.
    /// </summary>
    public int? Awake(AutoscaleState state, DeploymentSpec spec, DateTimeOffset now) => AwakeWith(state, spec, now, state.QuickRise);

    /// <summary>
    /// Of the desired replicas, how many must run for the deployment's demand alone: <see cref="Awake"/>
    /// without its quick rise (all of them while its rises are still being learned). The scheduler adds the headroom for
    /// quick rises per model (<see cref="ModelHeadroom"/>): replicas of a model serve each other's rises.
    /// </summary>
    public int? AwakeForDemand(AutoscaleState state, DeploymentSpec spec, DateTimeOffset now) => AwakeWith(state, spec, now, 0m);

    /// <summary>
    /// Learns from demand seen at <paramref name="now"/> without deciding anything: the state's recent demand, rise and
    /// quick rise, as <see cref="Next"/> learns them. For a signal that is not one deployment's, such as the summed demand of a
    /// model's deployments (<see cref="ModelHeadroom"/>).
    /// </summary>
    public AutoscaleState Observe(AutoscaleState state, decimal tokensPerSecond, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var (recent, rise, riseAt, quick) = Learn(state, rateDriven: true, Math.Max(0, tokensPerSecond), now);
        return state with { Recent = recent, Rise = rise, RiseAt = riseAt, QuickRise = quick, LearningSince = Forecast is null ? state.LearningSince : state.LearningSince ?? now };
    }

    private int? AwakeWith(AutoscaleState state, DeploymentSpec spec, DateTimeOffset now, decimal quickRise)
    {
        if (Forecast is not { } forecast || spec.Class is not (DeploymentClass.Dedicated or DeploymentClass.Serverless) || state.Recent is not { Count: > 0 } recent)
        {
            return null;
        }

        if (state.LearningSince is not { } learning || now - learning < forecast.RiseHalfLife)
        {
            return Clamp(spec, state.Desired);
        }

        var since = now - ScaleDownDelay;
        var most = 0m;
        foreach (var bucket in recent)
        {
            if (bucket.Start + forecast.BucketWidth > since && bucket.Start <= now)
            {
                most = Math.Max(most, bucket.Max);
            }
        }

        var demand = recent[^1].Max;
        return Math.Min(Clamp(spec, state.Desired), Wanted(spec, Math.Max(most, demand + quickRise)));
    }

    /// <summary>The replicas the deployment keeps: its desired count, or where a pending scale-down will take it.</summary>
    public static int Keeps(AutoscaleState state) => state.LowerSince is null ? state.Desired : Math.Min(state.Desired, state.LowerPeak);

    /// <summary>When the pending scale-down (if any) becomes due: when the grain's timer should look again.</summary>
    public DateTimeOffset? ScaleDownDueAt(AutoscaleState state) => state.LowerSince + EffectiveScaleDownDelay;

    /// <summary>
    /// Records the demand in the horizon's buckets and updates the learned rise: the demand now less the least demand of
    /// the horizon is a rise that capacity asked for a horizon ago would have had to cover.
    /// </summary>
    private (IReadOnlyList<DemandBucket>? Recent, decimal Rise, DateTimeOffset? RiseAt, decimal QuickRise) Learn(AutoscaleState state, bool rateDriven, decimal demand, DateTimeOffset now)
    {
        if (Forecast is not { } forecast || !rateDriven)
        {
            return (state.Recent, state.Rise, state.RiseAt, state.QuickRise);
        }

        var width = forecast.BucketWidth;
        var start = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % width.Ticks), TimeSpan.Zero);
        var oldest = start - forecast.Horizon;
        var recent = new List<DemandBucket>(Forecast.BucketsPerHorizon + 2);
        var low = demand;
        var quickLow = demand;
        var quickSince = now - ScaleDownDelay;
        var merged = false;
        foreach (var bucket in state.Recent ?? [])
        {
            // A bucket from the future (the clock went back) or older than the horizon no longer counts.
            if (bucket.Start < oldest || bucket.Start > start)
            {
                continue;
            }

            if (bucket.Start == start)
            {
                recent.Add(new DemandBucket(start, Math.Min(bucket.Min, demand), Math.Max(bucket.Max, demand)));
                merged = true;
            }
            else
            {
                recent.Add(bucket);
            }

            low = Math.Min(low, bucket.Min);
            if (bucket.Start + width > quickSince)
            {
                quickLow = Math.Min(quickLow, bucket.Min);
            }
        }

        if (!merged)
        {
            recent.Add(new DemandBucket(start, demand, demand));
        }

        var decay = 1m;
        if (state.RiseAt is { } at && now > at && forecast.RiseHalfLife > TimeSpan.Zero)
        {
            decay = (decimal)Math.Pow(0.5, (now - at) / forecast.RiseHalfLife);
        }

        var rise = Math.Max(state.Rise * decay, demand - low);
        var quick = Math.Max(state.QuickRise * decay, demand - quickLow);
        return (recent, decimal.Round(rise, 3), now, decimal.Round(quick, 3));
    }

    private static int Clamp(DeploymentSpec spec, int replicas) => Math.Min(Math.Max(replicas, spec.MinReplicas), spec.MaxReplicas);
}
