using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;

namespace ControlPlane.Domain.Tests.Deployments;

/// <summary>A node's placement report as its grain sends it: the node with its slot map, its scheduling, its replicas, its version.</summary>
internal sealed record NodeReport(PlacementNode Node, NodeScheduling Scheduling, PlacedReplica[] Replicas, long Version);

/// <summary>
/// A node grain's rules for claims and releases (as <c>NodeGrain</c> applies them): the slot map is the lock, every
/// change raises the version, and an answer to the scheduler counts as the scheduler having heard that version.
/// </summary>
internal sealed class SimNode(PlacementNode node)
{
    public PlacementNode Node { get; private set; } = node;

    public List<PlacedReplica> Replicas { get; } = [];

    public long Version { get; private set; } = 1;

    /// <summary>The version the scheduler last heard from this node (through a report it received or an answer the node gave).</summary>
    public long Heard { get; set; }

    /// <summary>The newest version the scheduler actually received (a report, an answer or a read), whatever the node believes.</summary>
    public long Told { get; set; }

    public bool Cordoned { get; private set; }

    public string NodeId => Node.NodeId;

    public NodeReport Report() =>
        new(Node with { Schedulable = !Cordoned }, Cordoned ? NodeScheduling.Cordoned : NodeScheduling.Schedulable, [.. Replicas], Version);

    public (ClaimStatus Status, NodeReport Report) Claim(PlacedReplica replica, string[] victims)
    {
        if (Node.Slots.GpusOf(replica.ReplicaId).Length == 0 && Cordoned)
        {
            return (ClaimStatus.NodeUnavailable, Report());
        }

        var outcome = Node.Slots.TryClaim(replica.ReplicaId, replica.DeploymentId, replica.Tier, replica.GpuIndices, victims);
        if (outcome.Status != ClaimStatus.Claimed)
        {
            return (outcome.Status, Report());
        }

        Node = Node with { Slots = outcome.Slots };
        Replicas.RemoveAll(r => outcome.Preempted.Any(v => v.ReplicaId == r.ReplicaId));
        Replicas.Add(replica with { GpuIndices = outcome.Slots.GpusOf(replica.ReplicaId), State = ReplicaState.Starting });
        Version++;
        Heard = Version;
        return (ClaimStatus.Claimed, Report());
    }

    public NodeReport Release(string replicaId)
    {
        if (Replicas.RemoveAll(r => r.ReplicaId == replicaId) > 0 || Node.Slots.GpusOf(replicaId).Length > 0)
        {
            Node = Node with { Slots = Node.Slots.Release(replicaId) };
            Version++;
            Heard = Version;
        }

        return Report();
    }

    /// <summary>The agent reports a starting replica ready: a change the node tells the scheduler of.</summary>
    public bool TurnReady(Random random)
    {
        var starting = Replicas.Where(r => r.State == ReplicaState.Starting).ToArray();
        if (starting.Length == 0)
        {
            return false;
        }

        var replica = starting[random.Next(starting.Length)];
        Replicas[Replicas.IndexOf(replica)] = replica with { State = ReplicaState.Ready };
        Version++;
        return true;
    }

    /// <summary>Something the scheduler did not decide takes free GPUs (an older scheduler activation, during a failover).</summary>
    public bool Intrude(string replicaId, ReplicaTier tier, int gpu)
    {
        if (!Node.Slots.IsFree(gpu))
        {
            return false;
        }

        var outcome = Node.Slots.TryClaim(replicaId, "intruder", tier, [gpu], []);
        Node = Node with { Slots = outcome.Slots };
        Replicas.Add(new PlacedReplica(replicaId, "intruder", "model", 0, 1, tier, [gpu], ReplicaState.Starting));
        Version++;
        return true;
    }

    public void SetCordoned(bool cordoned)
    {
        if (Cordoned != cordoned)
        {
            Cordoned = cordoned;
            Version++;
        }
    }
}

/// <summary>How a call from the scheduler to a node fares on the way.</summary>
internal enum Delivery
{
    /// <summary>The node handles it and its answer arrives.</summary>
    Answered,
    /// <summary>Lost before the node: the call times out, nothing happened.</summary>
    LostBefore,
    /// <summary>The node handles it but the answer is lost: the call times out.</summary>
    LostAnswer,
    /// <summary>
    /// The call times out, and the node handles it later, after other calls and reports, but before the scheduler's next
    /// read of the node: the node grain is not reentrant, so a call it is running finishes before the read, and Orleans
    /// drops a request that expired before it ran (<c>DropExpiredMessages</c>, on by default).
    /// </summary>
    Late,
}

/// <summary>
/// The scheduler grain's side of the protocol without Orleans: its model (<see cref="CapacityScheduler"/>) and the
/// bookkeeping of calls in flight (<see cref="ClaimsInFlight{TReport}"/>), exchanging messages with <see cref="SimNode"/>s
/// over a network that the test (or a property) controls. One pass does what <c>SchedulerGrain.RunAsync</c> does per
/// pass: read the stale nodes, decide, send each node its decisions in order (nodes in parallel), stop a node's
/// sequence at the first call that fails, and apply the newest of the answers and the reports held meanwhile.
/// </summary>
internal sealed class ClaimProtocol
{
    private readonly Random _random;
    private readonly List<Conversation> _conversations = [];
    private readonly HashSet<string> _decidedStale = new(StringComparer.Ordinal);

    public ClaimProtocol(IEnumerable<PlacementNode> nodes, int seed)
    {
        _random = new Random(seed);
        Model = new CapacityScheduler(new Random(seed));
        foreach (var node in nodes)
        {
            Nodes[node.NodeId] = new SimNode(node);
            // A fresh activation reads every node before deciding (RebuildAsync).
            Calls.MarkStale(node.NodeId);
        }
    }

    public CapacityScheduler Model { get; }

    public ClaimsInFlight<NodeReport> Calls { get; } = new(r => r.Version);

    public Dictionary<string, SimNode> Nodes { get; } = new(StringComparer.Ordinal);

    /// <summary>The model's slot map of each node with calls in flight, as the pass decided it.</summary>
    public Dictionary<string, NodeSlots> Decided { get; } = new(StringComparer.Ordinal);

    /// <summary>Reports the nodes sent that the scheduler has not received yet, in the order sent.</summary>
    public List<NodeReport> Network { get; } = [];

    /// <summary>Calls that timed out at the scheduler and reach their node later.</summary>
    public List<(string NodeId, SchedulingDecision Decision)> LateCalls { get; } = [];

    /// <summary>Every claim sent, with how it ended for the scheduler.</summary>
    public List<(ClaimDecision Claim, ClaimOutcomeSeen Outcome)> Claims { get; } = [];

    /// <summary>
    /// GPUs a refusal reported held by another replica, per node: the version of the refusing report and the holder.
    /// Forgotten once the model has a newer report of the node or the scheduler released the holder.
    /// </summary>
    public Dictionary<string, (long Version, Dictionary<int, string> Holders)> Refusals { get; } = new(StringComparer.Ordinal);

    /// <summary>Chooses how each call fares; the default answers every call.</summary>
    public Func<string, SchedulingDecision, Delivery> Deliver { get; set; } = (_, _) => Delivery.Answered;

    /// <summary>Whether a read of a stale node times out; the default never.</summary>
    public Func<string, bool> ReadFails { get; set; } = _ => false;

    /// <summary>Called after every message the scheduler sends or takes.</summary>
    public Action? AfterEachMessage { get; set; }

    public bool Busy => _conversations.Count > 0;

    /// <summary>Reads the stale nodes (a read that fails leaves the node stale) and decides; the decisions go out with <see cref="Step"/>.</summary>
    public IReadOnlyList<SchedulingDecision> BeginPass()
    {
        if (Busy)
        {
            throw new InvalidOperationException("A pass is still running.");
        }

        foreach (var nodeId in Calls.Stale.ToArray())
        {
            if (!ReadFails(nodeId))
            {
                // Late calls to the node ran before this read, or expired and were dropped.
                foreach (var late in LateCalls.Where(l => l.NodeId == nodeId).ToArray())
                {
                    LateCalls.Remove(late);
                    if (_random.Next(2) == 0)
                    {
                        Handle(Nodes[nodeId], late.Decision);
                    }
                }

                var report = Nodes[nodeId].Report();
                Nodes[nodeId].Heard = Math.Max(Nodes[nodeId].Heard, report.Version);
                Nodes[nodeId].Told = Math.Max(Nodes[nodeId].Told, report.Version);
                Apply(report);
                Calls.Refreshed(nodeId);
            }
        }

        _decidedStale.Clear();
        _decidedStale.UnionWith(Calls.Stale);
        var decisions = Model.Decide();
        foreach (var (nodeId, batch) in ClaimsInFlight.ByNode(decisions))
        {
            Calls.Begin(nodeId);
            Decided[nodeId] = Model.Snapshot.Find(nodeId)!.Slots;
            _conversations.Add(new Conversation(nodeId, new Queue<SchedulingDecision>(batch)));
        }

        AfterEachMessage?.Invoke();
        return decisions;
    }

    /// <summary>Sends the next call of one node's conversation (picked at random), or ends it when none is left.</summary>
    public void Step()
    {
        var conversation = _conversations[_random.Next(_conversations.Count)];
        if (conversation.Decisions.Count == 0 || conversation.Failed)
        {
            _conversations.Remove(conversation);
            Decided.Remove(conversation.NodeId);
            if (Calls.End(conversation.NodeId) is { } report)
            {
                Apply(report);
            }

            AfterEachMessage?.Invoke();
            return;
        }

        var decision = conversation.Decisions.Dequeue();
        var node = Nodes[conversation.NodeId];
        var delivery = Deliver(conversation.NodeId, decision);
        if (decision is ClaimDecision claim)
        {
            CheckNotRetriedOnRefusedGpus(claim);
        }

        // A holder the scheduler releases or preempts frees all its GPUs (a replica does not run on part of them).
        string[] freed = decision switch
        {
            ReleaseDecision release => [release.ReplicaId],
            ClaimDecision preempting => preempting.Claim.Victims,
            _ => [],
        };
        if (Refusals.TryGetValue(conversation.NodeId, out var refused))
        {
            foreach (var gpu in refused.Holders.Where(h => freed.Contains(h.Value)).Select(h => h.Key).ToArray())
            {
                refused.Holders.Remove(gpu);
            }
        }

        switch (delivery)
        {
            case Delivery.Answered:
                var (status, report) = Handle(node, decision);
                Calls.Answered(conversation.NodeId, report);
                node.Told = Math.Max(node.Told, report.Version);
                if (decision is ClaimDecision answered)
                {
                    var succeeded = status is ClaimStatus.Claimed or ClaimStatus.AlreadyClaimed;
                    Claims.Add((answered, succeeded ? ClaimOutcomeSeen.Accepted : ClaimOutcomeSeen.Refused));
                    if (!succeeded)
                    {
                        Remember(answered, report);
                    }
                }

                break;

            case Delivery.LostAnswer:
                Handle(node, decision);
                goto default;

            case Delivery.Late:
                LateCalls.Add((conversation.NodeId, decision));
                goto default;

            default:
                // The call timed out: an unknown outcome, and the grain's loop over this node's calls ends here.
                Calls.Lost(conversation.NodeId);
                conversation.Failed = true;
                if (decision is ClaimDecision lost)
                {
                    Claims.Add((lost, ClaimOutcomeSeen.TimedOut));
                }

                break;
        }

        AfterEachMessage?.Invoke();
    }

    /// <summary>Runs the pass's conversations to their end.</summary>
    public void FinishPass()
    {
        while (Busy)
        {
            Step();
        }
    }

    /// <summary>A node tells the scheduler of a change (it is sent, and received when <see cref="Receive"/> says so).</summary>
    public void Send(SimNode node) => Network.Add(node.Report());

    /// <summary>
    /// The scheduler receives a report (<c>NodeChangedAsync</c>); with <paramref name="keep"/> a copy stays on the network
    /// to arrive again later.
    /// </summary>
    public void Receive(int index, bool keep = false)
    {
        var report = Network[index];
        if (!keep)
        {
            Network.RemoveAt(index);
        }

        var node = Nodes[report.Node.NodeId];
        node.Heard = Math.Max(node.Heard, report.Version);
        node.Told = Math.Max(node.Told, report.Version);
        if (Calls.Reported(report.Node.NodeId, report) is { } now)
        {
            Apply(now);
        }

        AfterEachMessage?.Invoke();
    }

    /// <summary>A call that timed out reaches its node now; its answer goes nowhere (the caller gave up).</summary>
    public void DeliverLate(int index)
    {
        var (nodeId, decision) = LateCalls[index];
        LateCalls.RemoveAt(index);
        Handle(Nodes[nodeId], decision);
        AfterEachMessage?.Invoke();
    }

    /// <summary>
    /// The nodes behave from now on: late calls land, every report arrives in order, each node whose last change the
    /// scheduler has not heard tells it again (the node grain's health timer does), and the agents turn what they start
    /// ready. Runs passes until nothing changes; false if that took more than <paramref name="maxRounds"/> rounds.
    /// </summary>
    public bool Settle(int maxRounds = 60)
    {
        Deliver = (_, _) => Delivery.Answered;
        ReadFails = _ => false;
        for (var round = 0; round < maxRounds; round++)
        {
            FinishPass();
            while (LateCalls.Count > 0)
            {
                DeliverLate(0);
            }

            foreach (var node in Nodes.Values)
            {
                node.SetCordoned(false);
                while (node.TurnReady(_random))
                {
                }

                if (node.Heard < node.Version)
                {
                    Send(node);
                }
            }

            var quiet = Network.Count == 0;
            while (Network.Count > 0)
            {
                Receive(0);
            }

            var decisions = BeginPass();
            FinishPass();
            if (quiet && Calls.Stale.Count == 0 && !decisions.Any(d => d is ClaimDecision or ReleaseDecision))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The node grain's answer to a call: the claim's status (released: claimed) and the node's report after it.</summary>
    private static (ClaimStatus Status, NodeReport Report) Handle(SimNode node, SchedulingDecision decision) => decision switch
    {
        ClaimDecision claim => node.Claim(claim.Replica, claim.Claim.Victims),
        ReleaseDecision release => (ClaimStatus.Claimed, node.Release(release.ReplicaId)),
        _ => throw new ArgumentOutOfRangeException(nameof(decision)),
    };

    private void Apply(NodeReport report)
    {
        if (!Model.SetNode(report.Node, NodeHealth.Ready, report.Scheduling, report.Replicas, report.Version))
        {
            return;
        }

        if (Refusals.TryGetValue(report.Node.NodeId, out var refused) && report.Version > refused.Version)
        {
            Refusals.Remove(report.Node.NodeId);
        }
    }

    /// <summary>Remembers which replicas the refusing report showed on the claimed GPUs (other than the claimant).</summary>
    private void Remember(ClaimDecision claim, NodeReport report)
    {
        var holders = new Dictionary<int, string>();
        foreach (var gpu in claim.Claim.GpuIndices)
        {
            if (gpu < report.Node.Slots.Count && report.Node.Slots.Holders[gpu] is { } holder && holder.ReplicaId != claim.Replica.ReplicaId)
            {
                holders[gpu] = holder.ReplicaId;
            }
        }

        if (holders.Count > 0)
        {
            Refusals[claim.Claim.NodeId] = (report.Version, holders);
        }
    }

    /// <summary>
    /// A claim on GPUs a refusal showed taken must name their holder as a victim, until the model knows better (a newer
    /// report, or its own release of the holder). Not checked for a node still stale when the pass decided: its read
    /// failed, so the model decides on its last view plus its own decisions (a release it decided whose call never went
    /// out frees GPUs only in the model), and the node, which is the lock, refuses what no longer fits.
    /// </summary>
    private void CheckNotRetriedOnRefusedGpus(ClaimDecision claim)
    {
        if (!Refusals.TryGetValue(claim.Claim.NodeId, out var refused) || _decidedStale.Contains(claim.Claim.NodeId))
        {
            return;
        }

        foreach (var gpu in claim.Claim.GpuIndices)
        {
            if (refused.Holders.TryGetValue(gpu, out var holder) && !claim.Claim.Victims.Contains(holder))
            {
                throw new InvalidOperationException(
                    $"{claim.Replica.ReplicaId} claims GPU {gpu} of {claim.Claim.NodeId}, which the refusal at version {refused.Version} showed held by {holder}.");
            }
        }
    }

    private sealed class Conversation(string nodeId, Queue<SchedulingDecision> decisions)
    {
        public string NodeId { get; } = nodeId;

        public Queue<SchedulingDecision> Decisions { get; } = decisions;

        public bool Failed { get; set; }
    }
}

/// <summary>How a claim ended as the scheduler saw it.</summary>
internal enum ClaimOutcomeSeen
{
    Accepted,
    Refused,
    TimedOut,
}
