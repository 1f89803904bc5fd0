using System.Text.Json;
using System.Text.Json.Serialization;

namespace ControlPlane.Simulator.Simulation;

/// <summary>
/// What <c>simulate</c> writes with <c>--report-json</c>. Everything but the <c>wallSeconds</c> fields is a function of
/// the fleet file, the traces, the options and the seed. Ratios are 0..1; money is in dollars, rounded to cents once,
/// from exact token counts and decimal prices. Definitions: <see cref="PolicyReport"/> and <c>docs/simulator.md</c>.
/// </summary>
internal sealed record SimulationReport(
    FleetReport Fleet,
    IReadOnlyList<TraceReport> Traces,
    double SimulatedHours,
    int StepSeconds,
    int Seed,
    double WallSeconds,
    IReadOnlyDictionary<string, PolicyReport> Policies)
{
    /// <summary>Liquid's distance to the oracle, when both ran.</summary>
    public OracleGapReport? LiquidToOracle =>
        Policies.TryGetValue(LiquidPolicy.PolicyName, out var liquid) && Policies.TryGetValue(OraclePolicy.PolicyName, out var oracle)
            ? new OracleGapReport(
                PolicyTally.Round((oracle.Utilization - liquid.Utilization) * 100, 3),
                PolicyTally.Round((oracle.DedicatedServedShare - liquid.DedicatedServedShare) * 100, 3),
                PolicyTally.Round((oracle.ReservedServedShare - liquid.ReservedServedShare) * 100, 3),
                oracle.MarginUsd - liquid.MarginUsd)
            : null;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The report with every wall-clock field zeroed: what two runs with the same seed agree on.</summary>
    public SimulationReport WithoutWallClock() => this with
    {
        WallSeconds = 0,
        Policies = Policies.ToDictionary(p => p.Key, p => p.Value with { WallSeconds = 0 }, StringComparer.Ordinal),
    };
}

internal sealed record FleetReport(
    string Name,
    string File,
    int Nodes,
    int Gpus,
    IReadOnlyList<string> Regions,
    IReadOnlyList<string> Skus,
    decimal HourlyCostUsd,
    int ReservedGpus,
    int DedicatedDeployments,
    int ServerlessDeployments,
    string? BatchDeployment,
    double FailuresPerNodeDay,
    double RepairMinutes);

internal sealed record TraceReport(string Name, string File, int Rows, DateTimeOffset FirstTimestamp, double DurationSeconds, double MeanTokensPerSecond);

/// <summary>
/// One policy's outcome. The first figures are the honest ones: nothing a customer would count as a miss is forgiven in
/// them. The one forgiving figure says what it forgives in its name.
/// </summary>
/// <param name="Utilization">
/// GPU-seconds doing demanded work / healthy GPU-seconds. A ready replica's GPUs count in proportion to the tokens it
/// served (its own and shared ones on its spare capacity) over what it could serve; a ready batch replica counts fully
/// (its backlog never runs out); loading replicas and idle GPUs count as not working; GPUs of failed nodes are not
/// healthy and count in neither.
/// </param>
/// <param name="DedicatedServedShare">
/// Dedicated tokens served / due tokens, over all dedicated deployments, nothing forgiven: in each step a deployment's
/// due demand is its demand capped at <c>maxReplicas × tokensPerSecondPerReplica</c>.
/// </param>
/// <param name="ReservedServedShare">The same with demand capped at the reservation (<c>reservedReplicas × tokensPerSecondPerReplica</c>): how well the guarantee held.</param>
/// <param name="WorstReservedServedShare">
/// <paramref name="ReservedServedShare"/> of the dedicated deployment served least within its reservation: what that one
/// customer saw, which the fleet's figure averages away (1 when no deployment had demand within a reservation).
/// </param>
/// <param name="WorstReservedDeployment">That deployment (null when none had such demand).</param>
/// <param name="ServerlessSpilledShare">Serverless demand no GPU of the fleet served (sent to partners or lost) / serverless demand.</param>
/// <param name="ServerlessLostShare">Serverless demand neither the fleet nor a partner served / serverless demand.</param>
/// <param name="TimeToCapacity">
/// How long dedicated deployments waited for enough ready capacity: each stretch of steps in which a deployment's ready
/// capacity was below its due demand (a rise, or a lost replica) is one wait; p50 and p99 over all of them.
/// </param>
/// <param name="MarginUsd">Revenue less GPU cost less partner cost.</param>
/// <param name="SharedTokensOnDedicated">Serverless and batch tokens served on dedicated replicas' spare capacity.</param>
/// <param name="DedicatedTokensOnShared">
/// Dedicated tokens served on shared replicas of the same model (batch's, or serverless' spare) while the deployment's
/// own new replicas loaded: counted as served (they were), and shown so the reader sees how much service leaned on it.
/// </param>
/// <param name="Loads">Replica loads from a node's cache (warm) or the object store (cold), and the prefetches pre-staging started.</param>
/// <param name="DedicatedSloAttainmentForgivingLoadTime">
/// The forgiving figure: like <paramref name="DedicatedServedShare"/>, but a shortfall is forgiven while the demand it
/// misses rose within the model's load time (rounded up to whole steps): in step k, what is owed is the least due demand
/// of steps k − ceil(load / S) .. k.
/// </param>
/// <param name="ReservedSloAttainmentForgivingLoadTime">The same within the reservation.</param>
/// <param name="Preemptions">Replicas preempted (by any claim), from <c>CapacityScheduler.Preemptions</c>.</param>
/// <param name="SpilledSharedTokens">Serverless demand that found no ready capacity on the fleet: sent to partners, or lost beyond their capacity.</param>
/// <param name="GpuCostUsd">Every node's hourly cost over the simulated hours (a failed node is paid for too).</param>
/// <param name="RevenueUsd">
/// Tokens × price: dedicated at the customer's rate, serverless at list (partner-served tokens too: the customer pays
/// the provider), batch at the batch price; lost tokens earn nothing.
/// </param>
internal sealed record PolicyReport(
    double Utilization,
    double DedicatedServedShare,
    double ReservedServedShare,
    double WorstReservedServedShare,
    string? WorstReservedDeployment,
    double ServerlessSpilledShare,
    double ServerlessLostShare,
    WaitReport TimeToCapacity,
    decimal MarginUsd,
    decimal RevenueUsd,
    decimal GpuCostUsd,
    decimal PartnerCostUsd,
    long PartnerTokens,
    long SharedTokensOnDedicated,
    long DedicatedTokensOnShared,
    LoadReport Loads,
    double DedicatedSloAttainmentForgivingLoadTime,
    double ReservedSloAttainmentForgivingLoadTime,
    long Preemptions,
    PreemptionReport PreemptedReplicas,
    long SpilledSharedTokens,
    ClassFigures<long> ServedTokens,
    ClassFigures<long> DueTokens,
    ClassFigures<long> DemandTokens,
    ClassFigures<decimal> RevenueByClassUsd,
    PoolHours GpuHours,
    int NodeFailures,
    long UnplacedDedicatedReplicaSteps,
    IReadOnlyList<PartitionReport> Partitions,
    IReadOnlyList<DeploymentReport> Deployments,
    IReadOnlyList<HourReport> Hourly,
    double WallSeconds)
{
    /// <summary>Per step, for the plot; not in the JSON (<see cref="Hourly"/> is).</summary>
    [JsonIgnore]
    public StepSeries? Series { get; init; }
}

/// <summary>Replica loads by where the weights came from, and prefetches started.</summary>
/// <param name="Wakes">Replicas served by waking an engine of their deployment asleep on the node, instead of a load.</param>
internal sealed record LoadReport(long Warm, long Cold, long Prefetches, long Wakes = 0);

/// <summary>Waits for capacity: how many, and their p50, p99 and longest, in seconds (whole steps).</summary>
internal sealed record WaitReport(int Count, double P50Seconds, double P99Seconds, double MaxSeconds)
{
    public static WaitReport Of(IReadOnlyList<double> seconds) => new(
        seconds.Count,
        DeploymentTally.Quantile(seconds, 0.50),
        DeploymentTally.Quantile(seconds, 0.99),
        seconds.Count == 0 ? 0 : seconds.Max());
}

/// <summary>How far liquid is from the oracle of the same fleet, trace and failures, in percentage points (oracle − liquid).</summary>
internal sealed record OracleGapReport(double UtilizationPoints, double DedicatedServedSharePoints, double ReservedServedSharePoints, decimal MarginUsd);

/// <summary>Replicas preempted, by the tier of the victim, and how many of them a dedicated claim took.</summary>
internal sealed record PreemptionReport(long Batch, long Serverless, long Burst, long ByDedicated);

internal sealed record ClassFigures<T>(T Dedicated, T Serverless, T Batch);

/// <summary>
/// GPU-hours by what the GPUs held: dedicated (reserved and burst replicas) and shared (serverless and batch), loading
/// ones included; idle (free on a healthy node); down (on a failed node). <paramref name="Loading"/> is the part of
/// dedicated and shared still loading a model, <paramref name="Working"/> the numerator of utilization.
/// </summary>
internal sealed record PoolHours(double Dedicated, double Shared, double Idle, double Down, double Loading, double Working);

/// <summary>A scheduler of the policy and the nodes it places on.</summary>
internal sealed record PartitionReport(string Name, int Nodes, int Gpus, IReadOnlyList<string> Deployments);

/// <param name="ServedShare">Dedicated: served / due, nothing forgiven.</param>
/// <param name="TimeToCapacity">Dedicated: its waits for enough ready capacity.</param>
/// <param name="BorrowedTokens">Its tokens served on replicas of other deployments of its model.</param>
/// <param name="LentTokens">Tokens its replicas served for other deployments of its model.</param>
internal sealed record DeploymentReport(
    string DeploymentId,
    string Class,
    string? CustomerId,
    string Model,
    int GpusPerReplica,
    int ReservedReplicas,
    int MaxReplicas,
    long DemandTokens,
    long? DueTokens,
    long ServedTokens,
    double? ServedShare,
    double? ReservedServedShare,
    WaitReport? TimeToCapacity,
    long SpilledTokens,
    long PartnerTokens,
    long BorrowedTokens,
    long LentTokens,
    long WarmLoads,
    long ColdLoads,
    double? SloAttainmentForgivingLoadTime,
    double? ReservedSloAttainmentForgivingLoadTime,
    double MeanReadyReplicas,
    int PeakReplicas,
    decimal RevenueUsd);

/// <summary>Means over one simulated hour.</summary>
internal sealed record HourReport(int Hour, double Utilization, double DedicatedGpus, double SharedGpus, double IdleGpus, double DownGpus);

/// <summary>Per step values: utilization and GPUs by pool.</summary>
internal sealed record StepSeries(int StepSeconds, double[] Utilization, int[] DedicatedGpus, int[] SharedGpus, int[] IdleGpus, int[] DownGpus);
