using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Partners;
using ControlPlane.Domain.Placement;

namespace ControlPlane.Simulator.Simulation;

/// <summary>
/// A validated fleet file (<see cref="FleetFileLoader"/>): the nodes, the models and how long they take to load, how
/// often nodes fail, and the deployments with the traffic that drives them and the price their tokens sell at.
/// </summary>
/// <param name="Name">What the report calls the fleet.</param>
/// <param name="Deployments">Dedicated first, then serverless, then the batch deployment, each in file order.</param>
internal sealed record FleetFile(
    string Name,
    IReadOnlyList<string> Regions,
    IReadOnlyList<FleetNodeGroup> NodeGroups,
    IReadOnlyList<FleetModel> Models,
    FailureModel Failures,
    TimeSpan ScaleDownDelay,
    IReadOnlyList<SimulatedDeployment> Deployments)
{
    /// <summary>How model weights reach a node: the defaults of every node group, and how large weights are.</summary>
    public FleetLoading Loading { get; init; } = FleetLoading.Default;

    /// <summary>Distribution partners that take serverless demand no GPU of the fleet serves, at their price, up to their capacity.</summary>
    public IReadOnlyList<Partner> Partners { get; init; } = [];

    public int NodeCount => NodeGroups.Sum(g => g.Count);

    public int GpuCount => NodeGroups.Sum(g => g.Count * g.GpusPerNode);

    /// <summary>What the whole fleet costs per hour, failed nodes included (they are paid for all the same).</summary>
    public decimal HourlyCostUsd => NodeGroups.Sum(g => g.Count * g.HourlyCostUsd);

    /// <summary>
    /// Every node, all GPUs free, ordered by id: group name and a 1-based number (<c>use-h100-owned-001</c>), with the host
    /// memory its agent gives sleeping engines, as its heartbeat reports it.
    /// </summary>
    public IReadOnlyList<PlacementNode> Nodes() =>
        NodeGroups
            .SelectMany(g => Enumerable.Range(1, g.Count).Select(i => g.Node(i) with { SleepBudgetBytes = Loading.SleepGB(g) > 0 ? (long)(Loading.SleepGB(g) * 1e9) : null }))
            .OrderBy(n => n.NodeId, StringComparer.Ordinal)
            .ToArray();
}

/// <summary><paramref name="Count"/> alike nodes.</summary>
/// <param name="HourlyCostUsd">What one node costs per hour.</param>
internal sealed record FleetNodeGroup(
    string Name,
    string Region,
    string Sku,
    int GpusPerNode,
    long GpuMemoryMiB,
    int Count,
    Ownership Ownership,
    decimal HourlyCostUsd)
{
    /// <summary>Where this group's nodes read weights from; null takes the fleet's <see cref="FleetLoading"/> defaults.</summary>
    public NodeStorage? Storage { get; init; }

    public PlacementNode Node(int number) =>
        PlacementNode.Create($"{Name}-{number:D3}", Region, Sku, GpuMemoryMiB, GpusPerNode, HourlyCostUsd, Ownership) with
        {
            CacheFreeBytes = Storage is { CacheGB: > 0 } s ? (long)(s.CacheGB * 1e9) : null,
        };
}

/// <summary>
/// Where a node reads model weights from, and how fast: the regional object store over the network, or its own model
/// cache on local NVMe (weights it loaded or prefetched before, kept while they fit).
/// </summary>
/// <param name="ObjectStoreGBps">Gigabytes per second one node downloads weights at.</param>
/// <param name="CacheGBps">Gigabytes per second one node reads weights from its local cache into GPU memory.</param>
/// <param name="CacheGB">Size of the local model cache; 0 for none.</param>
internal sealed record NodeStorage(double ObjectStoreGBps, double CacheGBps, double CacheGB)
{
    /// <summary>Host memory one node gives to sleeping engines' weights (see <see cref="SleepingEngine"/>); 0 for none.</summary>
    public double SleepGB { get; init; } = FleetLoading.DefaultSleepGB;

    /// <summary>Gigabytes per second one GPU copies weights from host memory into its own memory (a wake).</summary>
    public double HostToGpuGBps { get; init; } = FleetLoading.DefaultHostToGpuGBps;
}

/// <summary>
/// The physics of a model load: a replica serves after <see cref="EngineStartSeconds"/> (the serving engine's start,
/// graph capture, warm-up) plus the time to read its weights: from the node's cache when it holds them (warm), from
/// the object store otherwise (cold).
/// </summary>
/// <param name="BytesPerParameter">Weight bytes per parameter when a model does not give its <c>weightsGB</c> (2 for 16-bit weights).</param>
/// <param name="Storage">The storage of node groups that do not give their own.</param>
internal sealed record FleetLoading(double EngineStartSeconds, double BytesPerParameter, NodeStorage Storage)
{
    public const double DefaultEngineStartSeconds = 45;
    public const double DefaultBytesPerParameter = 2;
    public const double DefaultObjectStoreGBps = 1.0;
    public const double DefaultCacheGBps = 4.0;
    public const double DefaultCacheGB = 3_000;
    public const double DefaultSleepGB = 1_000;
    public const double DefaultHostToGpuGBps = 20;
    public const double DefaultEngineWakeSeconds = 5;
    public const double DefaultReactionSeconds = 10;

    /// <summary>What a sleeping engine takes to wake beyond copying its weights back: re-allocating its KV cache, resuming.</summary>
    public double EngineWakeSeconds { get; init; } = DefaultEngineWakeSeconds;

    /// <summary>
    /// How long a change of demand takes to reach a node's agent as an instruction: the gateway's demand report interval and
    /// the agent's heartbeat interval (5 s each: the demo's gateway, and the agents' default). A wake starts that long into a step.
    /// </summary>
    public double ReactionSeconds { get; init; } = DefaultReactionSeconds;

    public static FleetLoading Default { get; } = new(
        DefaultEngineStartSeconds, DefaultBytesPerParameter, new NodeStorage(DefaultObjectStoreGBps, DefaultCacheGBps, DefaultCacheGB));

    /// <summary>
    /// How long a replica of <paramref name="model"/> takes to serve on a node of <paramref name="group"/>, warm (weights in
    /// its cache) or cold. A model with a fixed load time takes it either way.
    /// </summary>
    public TimeSpan LoadTime(FleetModel model, FleetNodeGroup group, bool warm)
    {
        if (model.FixedLoadTime is { } fixedTime)
        {
            return fixedTime;
        }

        var storage = StorageOf(group);
        var gbps = warm ? storage.CacheGBps : storage.ObjectStoreGBps;
        return TimeSpan.FromSeconds(Math.Round(EngineStartSeconds + (model.WeightsGB / gbps), 3));
    }

    /// <summary>
    /// How long a sleeping engine of <paramref name="model"/> over <paramref name="gpus"/> GPUs of a node of
    /// <paramref name="group"/> takes to wake: its weights copied back from host memory, each GPU its share in parallel, and
    /// <see cref="EngineWakeSeconds"/>.
    /// </summary>
    public TimeSpan WakeTime(FleetModel model, FleetNodeGroup group, int gpus) =>
        TimeSpan.FromSeconds(Math.Round(EngineWakeSeconds + (model.WeightsGB / (Math.Max(1, gpus) * StorageOf(group).HostToGpuGBps)), 3));

    /// <summary>Host memory a node of <paramref name="group"/> gives to sleeping engines, in GB.</summary>
    public double SleepGB(FleetNodeGroup group) => StorageOf(group).SleepGB;

    /// <summary>How long a node of <paramref name="group"/> takes to download <paramref name="model"/>'s weights into its cache (a prefetch).</summary>
    public TimeSpan DownloadTime(FleetModel model, FleetNodeGroup group) =>
        TimeSpan.FromSeconds(Math.Round(model.WeightsGB / StorageOf(group).ObjectStoreGBps, 3));

    private NodeStorage StorageOf(FleetNodeGroup group) => group.Storage ?? Storage;
}

/// <summary>A model: its size, and how long a replica of it takes from placement to serving.</summary>
/// <param name="SizeB">Parameters, in billions.</param>
/// <param name="WeightsGB">Gigabytes of weights a replica reads (and a node's cache holds).</param>
/// <param name="FixedLoadTime">
/// A load time given in the fleet file (<c>loadSeconds</c> or <c>loadTimes</c>), taken warm or cold alike; null when
/// the load time comes from the node's storage (<see cref="FleetLoading.LoadTime"/>).
/// </param>
internal sealed record FleetModel(string Name, decimal SizeB, double WeightsGB, TimeSpan? FixedLoadTime);

/// <summary>Node failures: each node fails at random (exponential times between failures) and is back after <paramref name="RepairTime"/>.</summary>
/// <param name="PerNodeDay">Expected failures of one node per day; 0 turns failures off.</param>
internal sealed record FailureModel(double PerNodeDay, TimeSpan RepairTime)
{
    public static FailureModel None { get; } = new(0, TimeSpan.Zero);
}

/// <summary>
/// How a trace drives a deployment's demand: the trace is looped, played <paramref name="Stretch"/> times slower
/// (24 turns an hour of trace into a day), started <paramref name="ShiftHours"/> into the simulated timeline, and
/// its token rate multiplied by <paramref name="RateScale"/>.
/// </summary>
/// <param name="Trace">The trace's name (its file name without extension); null for the first <c>--trace</c>.</param>
/// <param name="SmoothingSeconds">Trace seconds the rate is averaged over, at least; a step's own span in trace time when that is longer.</param>
internal sealed record TrafficMapping(string? Trace, double RateScale, double Stretch, double ShiftHours, double SmoothingSeconds)
{
    public const double DefaultStretch = 1;
    public const double DefaultSmoothingSeconds = 60;
}

/// <summary>A deployment of the fleet file as the simulation runs it.</summary>
/// <param name="Traffic">What drives its demand; null for batch, whose backlog is always there.</param>
/// <param name="UsdPerMillionTokens">What its served tokens sell at: the customer's discounted rate, the list price or the batch price.</param>
/// <param name="LoadTime">Its model's cold load time on the slowest node it may run on: what it may have to wait.</param>
/// <param name="Model">Its model, whose load time depends on the node and its cache; null when every load takes <paramref name="LoadTime"/>.</param>
internal sealed record SimulatedDeployment(DeploymentSpec Spec, TrafficMapping? Traffic, decimal UsdPerMillionTokens, TimeSpan LoadTime, FleetModel? Model = null)
{
    public string Id => Spec.DeploymentId;

    public DeploymentClass Class => Spec.Class;
}
