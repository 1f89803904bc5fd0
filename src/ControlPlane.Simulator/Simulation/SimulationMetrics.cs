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
    private int _next;

    public DeploymentTally(SimulatedDeployment deployment, int stepSeconds)
    {
        Deployment = deployment;

        // Demand that rose less than a load time ago may go unserved: a replica placed for it at once is ready only
        // after the load, at the first step boundary after it. The windows start at zero: the run starts from nothing.
        var loadSteps = (int)Math.Ceiling(deployment.LoadTime.TotalSeconds / stepSeconds);
        _due = new double[loadSteps + 1];
        _dueReserved = new double[loadSteps + 1];
    }

    public SimulatedDeployment Deployment { get; }

    public double DemandTokens { get; private set; }

    public double ServedTokens { get; private set; }

    public double SpilledTokens { get; private set; }

    public double DueTokens { get; private set; }

    public double ShortfallTokens { get; private set; }

    public double DueReservedTokens { get; private set; }

    public double ShortfallReservedTokens { get; private set; }

    public double ReadyReplicaSteps { get; private set; }

    public int PeakReplicas { get; private set; }

    /// <summary>
    /// Records a step of <paramref name="seconds"/> with <paramref name="ready"/> replicas serving and <paramref name="held"/>
    /// holding GPUs; returns the GPUs that did demanded work (fractional: a replica at half load is half busy).
    /// </summary>
    public double Step(double demand, int ready, int held, double seconds)
    {
        var spec = Deployment.Spec;
        var capacity = ready * (double)spec.TokensPerSecondPerReplica;
        ReadyReplicaSteps += ready;
        PeakReplicas = Math.Max(PeakReplicas, held);
        if (spec.Class == DeploymentClass.Batch)
        {
            // The backlog never runs out: what batch can serve is what it is asked for.
            DemandTokens += capacity * seconds;
            ServedTokens += capacity * seconds;
            return ready * spec.GpusPerReplica;
        }

        var served = Math.Min(demand, capacity);
        DemandTokens += demand * seconds;
        ServedTokens += served * seconds;
        if (spec.Class == DeploymentClass.Serverless)
        {
            SpilledTokens += (demand - served) * seconds;
        }
        else
        {
            var due = Math.Min(demand, spec.MaxReplicas * (double)spec.TokensPerSecondPerReplica);
            var dueReserved = Math.Min(demand, spec.ReservedReplicas * (double)spec.TokensPerSecondPerReplica);
            _due[_next] = due;
            _dueReserved[_next] = dueReserved;
            _next = (_next + 1) % _due.Length;
            DueTokens += due * seconds;
            DueReservedTokens += dueReserved * seconds;
            ShortfallTokens += Math.Max(0, Math.Min(due, _due.Min()) - served) * seconds;
            ShortfallReservedTokens += Math.Max(0, Math.Min(dueReserved, _dueReserved.Min()) - served) * seconds;
        }

        return spec.GpusPerReplica * served / (double)spec.TokensPerSecondPerReplica;
    }

    public long Served => Whole(ServedTokens);

    public decimal RevenueUsd => Served * Deployment.UsdPerMillionTokens / 1_000_000m;

    public double? SloAttainment => Deployment.Class == DeploymentClass.Dedicated ? Attainment(ShortfallTokens, DueTokens) : null;

    public double? ReservedSloAttainment => Deployment.Class == DeploymentClass.Dedicated ? Attainment(ShortfallReservedTokens, DueReservedTokens) : null;

    public static double Attainment(double shortfall, double due) => due <= 0 ? 1 : 1 - shortfall / due;

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

    public void Step(int k, double working, int dedicated, int shared, int loading, int healthy, int down)
    {
        Utilization[k] = healthy == 0 ? 0 : working / healthy;
        DedicatedGpus[k] = dedicated;
        SharedGpus[k] = shared;
        IdleGpus[k] = healthy - dedicated - shared;
        DownGpus[k] = down;
        WorkingGpuSeconds += working * stepSeconds;
        HealthyGpuSeconds += (double)healthy * stepSeconds;
        LoadingGpuSeconds += (double)loading * stepSeconds;
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
