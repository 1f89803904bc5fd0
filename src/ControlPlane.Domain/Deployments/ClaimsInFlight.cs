namespace ControlPlane.Domain.Deployments;

/// <summary>How the scheduler's decisions go to the node grains.</summary>
public static class ClaimsInFlight
{
    /// <summary>The node each acting decision goes to, in the order decided (a node's decisions must run in order: a release may free what a claim takes).</summary>
    public static IReadOnlyList<(string NodeId, SchedulingDecision[] Decisions)> ByNode(IEnumerable<SchedulingDecision> decisions) =>
        decisions
            .Where(d => d is ReleaseDecision or ClaimDecision)
            .GroupBy(NodeOf, StringComparer.Ordinal)
            .Select(g => (g.Key, g.ToArray()))
            .ToArray();

    /// <summary>The node a decision acts on (empty for a replica with no room).</summary>
    public static string NodeOf(SchedulingDecision decision) => decision switch
    {
        ReleaseDecision r => r.NodeId,
        ClaimDecision c => c.Claim.NodeId,
        _ => "",
    };
}

/// <summary>
/// The scheduler's side of its conversations with the node grains, which own the GPUs: which nodes have claims or
/// releases in flight, the reports that arrived from them meanwhile, and which nodes are stale (a call's outcome is
/// unknown, or they were never read). <see cref="CapacityScheduler.Decide"/> applies a decision to the model at once;
/// the node then answers with its real state, which replaces the model's guess. This type says which report is the
/// truth about a node and when; the scheduler grain does the calls, and a property test drives the same protocol
/// with nodes that refuse, time out, duplicate and reorder.
/// <list type="bullet">
/// <item>A node's report that arrives while the scheduler waits on that node's answers is held back (the newest by
/// version), so an older report cannot undo a decision the node has already taken; when the calls end the newest of
/// the answers and the held report is applied.</item>
/// <item>A call that failed (timed out, or its silo died) has an unknown outcome: the node is stale until it is read
/// again (<see cref="Refreshed"/>), which the scheduler does before its next decisions.</item>
/// </list>
/// Not thread-safe (a grain's turns, or one test).
/// </summary>
/// <typeparam name="TReport">A node's placement report; its version grows with every change of the node.</typeparam>
public sealed class ClaimsInFlight<TReport>(Func<TReport, long> versionOf)
    where TReport : class
{
    private readonly Dictionary<string, Conversation> _inFlight = new(StringComparer.Ordinal);
    private readonly HashSet<string> _stale = new(StringComparer.Ordinal);

    /// <summary>Nodes whose state must be read before the scheduler trusts its model of them.</summary>
    public IReadOnlyCollection<string> Stale => _stale;

    /// <summary>Nodes with calls in flight.</summary>
    public IReadOnlyCollection<string> InFlight => _inFlight.Keys;

    public bool IsInFlight(string nodeId) => _inFlight.ContainsKey(nodeId);

    public bool IsStale(string nodeId) => _stale.Contains(nodeId);

    /// <summary>The node's state is unknown (never read, or a call's outcome is unknown): read it before trusting the model.</summary>
    public void MarkStale(string nodeId) => _stale.Add(nodeId);

    /// <summary>The node was read (whatever it answered, the answer is applied): it is no longer stale.</summary>
    public void Refreshed(string nodeId) => _stale.Remove(nodeId);

    /// <summary>
    /// A node reported a change on its own: the report to apply now, or null when it is held back until the node's calls
    /// end (only the newest held report is kept; of two with one version, the first).
    /// </summary>
    public TReport? Reported(string nodeId, TReport report)
    {
        if (!_inFlight.TryGetValue(nodeId, out var conversation))
        {
            return report;
        }

        conversation.Held = Newest(conversation.Held, report, preferFirst: true);
        return null;
    }

    /// <summary>The scheduler starts sending a node its decisions (in order; one conversation per node at a time).</summary>
    public void Begin(string nodeId)
    {
        if (_inFlight.ContainsKey(nodeId))
        {
            throw new InvalidOperationException($"Node {nodeId} already has calls in flight.");
        }

        _inFlight[nodeId] = new Conversation();
    }

    /// <summary>
    /// A call to the node was answered, with the node's report after it (null when the answer carried none). Answers of
    /// one conversation may be taken in any order: the newest report wins.
    /// </summary>
    public void Answered(string nodeId, TReport? report)
    {
        var conversation = _inFlight.TryGetValue(nodeId, out var c) ? c : throw new InvalidOperationException($"Node {nodeId} has no calls in flight.");
        if (report is not null)
        {
            conversation.Answer = Newest(conversation.Answer, report, preferFirst: false);
        }
    }

    /// <summary>A call to the node failed (timed out, or its silo died): the outcome is unknown, so the node is stale.</summary>
    public void Lost(string nodeId)
    {
        if (!_inFlight.ContainsKey(nodeId))
        {
            throw new InvalidOperationException($"Node {nodeId} has no calls in flight.");
        }

        _stale.Add(nodeId);
    }

    /// <summary>
    /// The node's calls are over: the report to apply (the newest of its answers and the reports held meanwhile; an
    /// answer wins a tie), or null when neither came.
    /// </summary>
    public TReport? End(string nodeId)
    {
        if (!_inFlight.Remove(nodeId, out var conversation))
        {
            throw new InvalidOperationException($"Node {nodeId} has no calls in flight.");
        }

        return conversation.Answer is null ? conversation.Held : Newest(conversation.Answer, conversation.Held, preferFirst: true);
    }

    private TReport? Newest(TReport? first, TReport? second, bool preferFirst)
    {
        if (first is null)
        {
            return second;
        }

        if (second is null)
        {
            return first;
        }

        var (a, b) = (versionOf(first), versionOf(second));
        return a > b || (a == b && preferFirst) ? first : second;
    }

    private sealed class Conversation
    {
        public TReport? Held { get; set; }

        public TReport? Answer { get; set; }
    }
}
