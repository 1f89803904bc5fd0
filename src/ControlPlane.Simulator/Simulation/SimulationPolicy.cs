using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Placement;

namespace ControlPlane.Simulator.Simulation;

/// <summary>Nodes and deployments that one <see cref="CapacityScheduler"/> places, apart from every other partition.</summary>
internal sealed record SchedulerPartition(string Name, CapacityScheduler Scheduler, IReadOnlyList<PlacementNode> Nodes, IReadOnlyList<SimulatedDeployment> Deployments);

/// <summary>
/// How capacity is run: which schedulers place what on which nodes, and how many replicas a deployment asks for.
/// Every policy places with the project's <see cref="CapacityScheduler"/>; they differ only in what they give it.
/// </summary>
internal abstract class SimulationPolicy
{
    public abstract string Name { get; }

    public abstract IReadOnlyList<SchedulerPartition> Partition(FleetFile fleet, IReadOnlyList<PlacementNode> nodes, Random random);

    /// <summary>
    /// Whether a dedicated replica's spare tokens serve shared requests of the same model at lower priority (the
    /// product's routing does this; fixed silos do not share).
    /// </summary>
    public abstract bool SharesDedicatedSlack { get; }

    /// <summary>
    /// Whether dedicated headroom may be held by sleeping engines rather than running replicas
    /// (<see cref="ScheduledDeployment.Awake"/>): the product's autoscaler says how many must run now.
    /// </summary>
    public virtual bool SleepsHeadroom => false;

    /// <summary>
    /// Whether the policy knows each deployment's demand a load time ahead (the oracle): a serverless deployment then counts
    /// only on the dedicated spare of its model that the dedicated deployments' foreseen demand leaves through that time.
    /// </summary>
    public virtual bool Foresees => false;

    /// <summary>
    /// The replicas <paramref name="deployment"/> asks its scheduler for, given what the product's autoscaler wants
    /// for its demand (<paramref name="autoscaled"/>) and what demand will want within one load time
    /// (<paramref name="foreseen"/>, which only an oracle can know).
    /// </summary>
    public abstract int Desired(SimulatedDeployment deployment, int autoscaled, int foreseen);

    public static SimulationPolicy Parse(string name) => name switch
    {
        LiquidPolicy.PolicyName => new LiquidPolicy(),
        StaticPolicy.PolicyName => new StaticPolicy(),
        OraclePolicy.PolicyName => new OraclePolicy(),
        _ => throw new ArgumentException($"unknown policy '{name}'", nameof(name)),
    };
}

/// <summary>
/// The project's policy: one pool. One scheduler holds every node and every deployment; dedicated deployments scale
/// with demand, their reserved replicas guaranteed and their burst replicas preempting shared work, and shared work
/// (serverless, then batch) fills whatever is left. Dedicated replicas keep the autoscaler's headroom, and their spare
/// tokens serve shared requests of the same model.
/// </summary>
internal class LiquidPolicy : SimulationPolicy
{
    public const string PolicyName = "liquid";

    public override string Name => PolicyName;

    public override bool SharesDedicatedSlack => true;

    public override bool SleepsHeadroom => true;

    public override IReadOnlyList<SchedulerPartition> Partition(FleetFile fleet, IReadOnlyList<PlacementNode> nodes, Random random) =>
        [new SchedulerPartition("fleet", new CapacityScheduler(random), nodes, fleet.Deployments)];

    public override int Desired(SimulatedDeployment deployment, int autoscaled, int foreseen) => autoscaled;
}

/// <summary>
/// The limit of a fleet and a trace: the liquid policy with perfect foresight instead of the autoscaler. Every rate-driven
/// deployment asks for exactly what its demand will want at most until a replica placed now could serve (its load
/// time), and no more: no headroom, no spare, down at once; a serverless deployment counts only on the dedicated spare
/// its model keeps through that time (<see cref="Foresees"/>). It knows demand, not failures, and places with the same
/// scheduler, so a dedicated rise may still preempt a serverless replica it then has to load again. Liquid's distance to
/// it is what forecasting still leaves on the table.
/// </summary>
internal sealed class OraclePolicy : LiquidPolicy
{
    public new const string PolicyName = "oracle";

    public override string Name => PolicyName;

    /// <summary>It keeps no headroom, so none sleeps; its replicas released on a scale-down still sleep, and wake for it.</summary>
    public override bool SleepsHeadroom => false;

    public override bool Foresees => true;

    public override int Desired(SimulatedDeployment deployment, int autoscaled, int foreseen) =>
        deployment.Class == DeploymentClass.Batch ? autoscaled : foreseen;
}

/// <summary>
/// The status quo: fixed silos. Each dedicated deployment gets exactly its reserved replicas, always running, on
/// nodes set aside for dedicated work (the nodes of the layout <see cref="Admission.Reserve"/> makes for the
/// reservations on the empty fleet); shared work runs on the other nodes only. Two schedulers over disjoint nodes:
/// dedicated work never bursts and never preempts, shared work never borrows a reserved GPU. Inside the shared silo
/// serverless still goes before batch, as any shared pool would run it.
/// </summary>
internal sealed class StaticPolicy : SimulationPolicy
{
    public const string PolicyName = "static";

    public override string Name => PolicyName;

    public override IReadOnlyList<SchedulerPartition> Partition(FleetFile fleet, IReadOnlyList<PlacementNode> nodes, Random random)
    {
        var dedicated = fleet.Deployments.Where(d => d.Class == DeploymentClass.Dedicated).ToArray();
        var shared = fleet.Deployments.Where(d => d.Class != DeploymentClass.Dedicated).ToArray();
        var layout = dedicated.Length == 0
            ? ReservationLayout.Empty
            : Admission.Reserve(new FleetSnapshot(nodes), dedicated.Select(d => d.Spec))
                ?? throw new InvalidOperationException("The reservations do not fit the fleet (the fleet file loader checks this).");
        var siloNodes = layout.Entries.Select(e => e.NodeId).ToHashSet(StringComparer.Ordinal);
        return
        [
            new SchedulerPartition("dedicated", new CapacityScheduler(random), nodes.Where(n => siloNodes.Contains(n.NodeId)).ToArray(), dedicated),
            new SchedulerPartition("shared", new CapacityScheduler(random), nodes.Where(n => !siloNodes.Contains(n.NodeId)).ToArray(), shared),
        ];
    }

    public override bool SharesDedicatedSlack => false;

    public override int Desired(SimulatedDeployment deployment, int autoscaled, int foreseen) =>
        deployment.Class == DeploymentClass.Dedicated ? deployment.Spec.ReservedReplicas : autoscaled;
}
