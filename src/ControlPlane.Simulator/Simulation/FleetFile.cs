using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
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
    /// <summary>Distribution partners that take serverless demand no GPU of the fleet serves, at their price, up to their capacity.</summary>
    public IReadOnlyList<FleetPartner> Partners { get; init; } = [];

    public int NodeCount => NodeGroups.Sum(g => g.Count);

    public int GpuCount => NodeGroups.Sum(g => g.Count * g.GpusPerNode);

    /// <summary>What the whole fleet costs per hour, failed nodes included (they are paid for all the same).</summary>
    public decimal HourlyCostUsd => NodeGroups.Sum(g => g.Count * g.HourlyCostUsd);

    /// <summary>Every node, all GPUs free, ordered by id: group name and a 1-based number (<c>use-h100-owned-001</c>).</summary>
    public IReadOnlyList<PlacementNode> Nodes() =>
        NodeGroups
            .SelectMany(g => Enumerable.Range(1, g.Count).Select(i => g.Node(i)))
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
    public PlacementNode Node(int number) =>
        PlacementNode.Create($"{Name}-{number:D3}", Region, Sku, GpuMemoryMiB, GpusPerNode, HourlyCostUsd, Ownership);
}

/// <summary>A distribution partner: the models it serves, what it charges per million tokens, and how many tokens per second it takes.</summary>
internal sealed record FleetPartner(string PartnerId, IReadOnlyList<string> Models, decimal UsdPerMillionTokens, double CapacityTokensPerSecond);

/// <summary>A model and the time a replica of it takes from placement to serving (download, load, warm-up).</summary>
/// <param name="SizeB">Parameters, in billions.</param>
internal sealed record FleetModel(string Name, decimal SizeB, TimeSpan LoadTime);

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
/// <param name="LoadTime">Its model's load time.</param>
internal sealed record SimulatedDeployment(DeploymentSpec Spec, TrafficMapping? Traffic, decimal UsdPerMillionTokens, TimeSpan LoadTime)
{
    public string Id => Spec.DeploymentId;

    public DeploymentClass Class => Spec.Class;
}
