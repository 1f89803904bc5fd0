using ControlPlane.Domain.Deployments;

namespace ControlPlane.Simulator.Simulation;

/// <summary>
/// What one deployment did over a run: demand, service, and for dedicated deployments what was due and missed.
/// Token figures are accumulated in double (rates × seconds) and rounded to whole tokens once, at the end; money
/// is computed from those whole tokens in decimal.
/// </summary>
internal sealed class DeploymentTally
{
    private readonly double[] _due;
    private readonly double[] _dueReserved;
    private readonly List<double> _shortfalls = [];
    private int _next;
    private int _shortSteps;
    private bool _stepShort;

    public DeploymentTally(SimulatedDeployment deployment, int stepSeconds)
    {
        Deployment = deployment;
        StepSeconds = stepSeconds;

        // Demand that rose less than a load time ago may go unserved: a replica placed for it at once is ready only
        // after the load, at the first step boundary after it. The windows start at zero: the run starts from nothing.
        var loadSteps = (int)Math.Ceiling(deployment.LoadTime.TotalSeconds / stepSeconds);
        _due = new double[loadSteps + 1];
        _dueReserved = new double[loadSteps + 1];
    }

    public SimulatedDeployment Deployment { get; }

    public int StepSeconds { get; }

    public double DemandTokens { get; private set; }

    /// <summary>Tokens served by the fleet's GPUs: its own replicas, and for a shared deployment dedicated replicas' spare tokens too.</summary>
    public double ServedTokens { get; private set; }

    /// <summary>
    /// Its tokens served on replicas of other deployments of its model (part of <see cref="ServedTokens"/>): a shared
    /// deployment's on dedicated replicas' spare, a dedicated deployment's overflow on shared replicas.
    /// </summary>
    public double BorrowedTokens { get; private set; }

    /// <summary>Tokens its replicas served for other deployments of its model.</summary>
    public double LentTokens { get; private set; }

    /// <summary>Serverless demand no GPU of the fleet served: routed to partners (<see cref="PartnerTokens"/>) or lost.</summary>
    public double SpilledTokens { get; private set; }

    public double PartnerTokens { get; private set; }

    public decimal PartnerCostUsd { get; private set; }

    /// <summary>Dedicated: demand up to <c>maxReplicas × tokensPerSecondPerReplica</c>, step by step: what the customer may expect served.</summary>
    public double DueTokens { get; private set; }

    public double ServedDueTokens { get; private set; }

    public double DueReservedTokens { get; private set; }

    public double ServedReservedTokens { get; private set; }

    public double ForgivenShortfallTokens { get; private set; }

    public double ForgivenShortfallReservedTokens { get; private set; }

    public double ReadyReplicaSteps { get; private set; }

    public int PeakReplicas { get; private set; }

    /// <summary>Replicas that loaded from their node's cache (warm) or from the object store (cold).</summary>
    public long WarmLoads { get; private set; }

    public long ColdLoads { get; private set; }

    /// <summary>Replicas served by waking a sleeping engine of the deployment.</summary>
    public long Wakes { get; set; }

    public void CountLoad(bool warm)
    {
        if (warm)
        {
            WarmLoads++;
        }
        else
        {
            ColdLoads++;
        }
    }

    /// <summary>Dedicated: how long each stretch of steps with less ready capacity than due demand lasted, in seconds.</summary>
    public IReadOnlyList<double> ShortfallSeconds => _shortSteps > 0 ? [.. _shortfalls, _shortSteps * (double)StepSeconds] : _shortfalls;

    /// <summary>
    /// Records <paramref name="seconds"/> of a step (the whole step, or a part of it when a wake changed the ready replicas
    /// within it: <paramref name="opens"/> on its first part, <paramref name="closes"/> on its last): <paramref name="own"/>
    /// tokens per second served by its own <paramref name="ready"/> replicas (of <paramref name="held"/> holding GPUs),
    /// <paramref name="onSlack"/> on dedicated or other replicas of its model (<see cref="BorrowedTokens"/>),
    /// <paramref name="toPartners"/> sent to partners at <paramref name="partnerUsd"/>; <paramref name="lent"/> of its
    /// replicas' tokens served other deployments.
    /// </summary>
    public void Step(double demand, double own, double onSlack, double lent, double toPartners, decimal partnerUsd, int ready, int held, double seconds, bool opens = true, bool closes = true)
    {
        var spec = Deployment.Spec;
        ReadyReplicaSteps += ready * seconds / StepSeconds;
        PeakReplicas = Math.Max(PeakReplicas, held);
        if (spec.Class == DeploymentClass.Batch)
        {
            // The backlog never runs out: what batch can serve is what it is asked for.
            DemandTokens += (own + onSlack) * seconds;
            ServedTokens += (own + onSlack) * seconds;
            BorrowedTokens += onSlack * seconds;
            LentTokens += lent * seconds;
            return;
        }

        DemandTokens += demand * seconds;
        ServedTokens += (own + onSlack) * seconds;
        BorrowedTokens += onSlack * seconds;
        LentTokens += lent * seconds;
        if (spec.Class == DeploymentClass.Serverless)
        {
            SpilledTokens += Math.Max(0, demand - own - onSlack) * seconds;
            PartnerTokens += toPartners * seconds;
            PartnerCostUsd += partnerUsd;
            return;
        }

        // A dedicated deployment is served by its own replicas and, for a rise they do not cover yet, by shared replicas of its model.
        own += onSlack;
        var due = Math.Min(demand, spec.MaxReplicas * (double)spec.TokensPerSecondPerReplica);
        var dueReserved = Math.Min(demand, spec.ReservedReplicas * (double)spec.TokensPerSecondPerReplica);
        DueTokens += due * seconds;
        DueReservedTokens += dueReserved * seconds;
        ServedDueTokens += Math.Min(own, due) * seconds;
        ServedReservedTokens += Math.Min(own, dueReserved) * seconds;

        // The forgiving measure: a shortfall is excused while the demand it misses rose within the model's load time.
        if (opens)
        {
            _due[_next] = due;
            _dueReserved[_next] = dueReserved;
            _next = (_next + 1) % _due.Length;
        }

        ForgivenShortfallTokens += Math.Max(0, Math.Min(due, _due.Min()) - own) * seconds;
        ForgivenShortfallReservedTokens += Math.Max(0, Math.Min(dueReserved, _dueReserved.Min()) - own) * seconds;

        // A stretch of steps short of due demand at any moment, however small the miss: how long the customer waited for capacity.
        _stepShort |= own < due * (1 - 1e-9);
        if (!closes)
        {
            return;
        }

        if (_stepShort)
        {
            _shortSteps++;
        }
        else if (_shortSteps > 0)
        {
            _shortfalls.Add(_shortSteps * (double)StepSeconds);
            _shortSteps = 0;
        }

        _stepShort = false;
    }

    public long Served => Whole(ServedTokens);

    /// <summary>Served tokens and partner-served tokens at the deployment's price (the customer pays the same, whoever serves it).</summary>
    public decimal RevenueUsd => (Served + Whole(PartnerTokens)) * Deployment.UsdPerMillionTokens / 1_000_000m;

    public bool IsDedicated => Deployment.Class == DeploymentClass.Dedicated;

    public double? ServedShare => IsDedicated ? Share(ServedDueTokens, DueTokens) : null;

    public double? ReservedServedShare => IsDedicated ? Share(ServedReservedTokens, DueReservedTokens) : null;

    public double? AttainmentForgivingLoadTime => IsDedicated ? 1 - Share(ForgivenShortfallTokens, DueTokens, empty: 0) : null;

    public double? ReservedAttainmentForgivingLoadTime => IsDedicated ? 1 - Share(ForgivenShortfallReservedTokens, DueReservedTokens, empty: 0) : null;

    /// <summary><paramref name="part"/> / <paramref name="whole"/>, or <paramref name="empty"/> when nothing was due.</summary>
    public static double Share(double part, double whole, double empty = 1) => whole <= 0 ? empty : part / whole;

    /// <summary>The <paramref name="q"/> quantile (nearest rank) of <paramref name="values"/>; 0 for none.</summary>
    public static double Quantile(IReadOnlyList<double> values, double q)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(q * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static long Whole(double tokens) => (long)Math.Round(tokens, MidpointRounding.AwayFromZero);
}

/// <summary>Fleet-wide figures of one run, step by step.</summary>
internal sealed class PolicyTally(int steps, int stepSeconds)
{
    public double[] Utilization { get; } = new double[steps];

    public int[] DedicatedGpus { get; } = new int[steps];

    public int[] SharedGpus { get; } = new int[steps];

    public int[] IdleGpus { get; } = new int[steps];

    public int[] DownGpus { get; } = new int[steps];

    public double WorkingGpuSeconds { get; private set; }

    public double HealthyGpuSeconds { get; private set; }

    public double LoadingGpuSeconds { get; private set; }

    public long PreemptedBatch { get; set; }

    public long PreemptedServerless { get; set; }

    public long PreemptedBurst { get; set; }

    public long PreemptedByDedicated { get; set; }

    public long UnplacedDedicatedReplicaSteps { get; set; }

    public long Prefetches { get; set; }

    /// <summary>
    /// Records <paramref name="seconds"/> of step <paramref name="k"/> (all of it, or one part when a wake split it); the GPU
    /// counts by pool are those of its last part.
    /// </summary>
    public void Step(int k, double working, int dedicated, int shared, int loading, int healthy, int down, double seconds)
    {
        Utilization[k] += (healthy == 0 ? 0 : working / healthy) * seconds / stepSeconds;
        DedicatedGpus[k] = dedicated;
        SharedGpus[k] = shared;
        IdleGpus[k] = healthy - dedicated - shared;
        DownGpus[k] = down;
        WorkingGpuSeconds += working * seconds;
        HealthyGpuSeconds += healthy * seconds;
        LoadingGpuSeconds += loading * seconds;
    }

    public PoolHours Hours() => new(
        Round(DedicatedGpus.Sum(g => (double)g) * stepSeconds / 3600, 3),
        Round(SharedGpus.Sum(g => (double)g) * stepSeconds / 3600, 3),
        Round(IdleGpus.Sum(g => (double)g) * stepSeconds / 3600, 3),
        Round(DownGpus.Sum(g => (double)g) * stepSeconds / 3600, 3),
        Round(LoadingGpuSeconds / 3600, 3),
        Round(WorkingGpuSeconds / 3600, 3));

    public IReadOnlyList<HourReport> Hourly() =>
        Enumerable.Range(0, Utilization.Length)
            .GroupBy(k => (int)((long)k * stepSeconds / 3600))
            .Select(hour => new HourReport(
                hour.Key,
                Round(hour.Average(k => Utilization[k]), 6),
                Round(hour.Average(k => (double)DedicatedGpus[k]), 3),
                Round(hour.Average(k => (double)SharedGpus[k]), 3),
                Round(hour.Average(k => (double)IdleGpus[k]), 3),
                Round(hour.Average(k => (double)DownGpus[k]), 3)))
            .ToArray();

    public StepSeries Series() => new(stepSeconds, Utilization, DedicatedGpus, SharedGpus, IdleGpus, DownGpus);

    public static double Round(double value, int digits) => Math.Round(value, digits, MidpointRounding.AwayFromZero);
}
