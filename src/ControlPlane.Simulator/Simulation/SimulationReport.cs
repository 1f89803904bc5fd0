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

/// <summary>One policy's outcome.</summary>
/// <param name="Utilization">
/// GPU-seconds doing demanded work / healthy GPU-seconds. A ready replica's GPUs count in proportion to what it
/// served over what it could serve; a ready batch replica counts fully (its backlog never runs out); loading replicas
/// and idle GPUs count as not working; GPUs of failed nodes are not healthy and count in neither.
/// </param>
/// <param name="DedicatedSloAttainment">
/// Share of dedicated demand served, over all dedicated deployments by tokens: demand up to a deployment's capacity
/// (maxReplicas × tokensPerSecondPerReplica) is due; a shortfall is forgiven only while the demand it misses rose
/// within the model's load time (rounded up to whole steps), i.e. no replica placed for it could be ready yet.
/// </param>
/// <param name="DedicatedReservedSloAttainment">The same with only demand up to the reservation due: how well the guarantee held.</param>
/// <param name="Preemptions">Replicas preempted (by any claim), from <c>CapacityScheduler.Preemptions</c>.</param>
/// <param name="SpilledSharedTokens">Serverless demand that found no ready capacity: sent to distribution partners.</param>
/// <param name="GpuCostUsd">Every node's hourly cost over the simulated hours (a failed node is paid for too).</param>
/// <param name="RevenueUsd">Served tokens × price: dedicated at the customer's rate, serverless at list, batch at the batch price; spilled tokens earn nothing here.</param>
internal sealed record PolicyReport(
    double Utilization,
    double DedicatedSloAttainment,
    double DedicatedReservedSloAttainment,
    long Preemptions,
    PreemptionReport PreemptedReplicas,
    long SpilledSharedTokens,
    decimal GpuCostUsd,
    decimal RevenueUsd,
    ClassFigures<long> ServedTokens,
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

internal sealed record DeploymentReport(
    string DeploymentId,
    string Class,
    string? CustomerId,
    string Model,
    int GpusPerReplica,
    int ReservedReplicas,
    int MaxReplicas,
    long DemandTokens,
    long ServedTokens,
    long SpilledTokens,
    double? SloAttainment,
    double? ReservedSloAttainment,
    double MeanReadyReplicas,
    int PeakReplicas,
    decimal RevenueUsd);

/// <summary>Means over one simulated hour.</summary>
internal sealed record HourReport(int Hour, double Utilization, double DedicatedGpus, double SharedGpus, double IdleGpus, double DownGpus);

/// <summary>Per step values: utilization and GPUs by pool.</summary>
internal sealed record StepSeries(int StepSeconds, double[] Utilization, int[] DedicatedGpus, int[] SharedGpus, int[] IdleGpus, int[] DownGpus);
