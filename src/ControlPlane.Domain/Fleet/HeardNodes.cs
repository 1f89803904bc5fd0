namespace ControlPlane.Domain.Fleet;

/// <summary>When a node's agent was last heard, and which silo's node grain heard it (where the grain lived).</summary>
[GenerateSerializer, Alias("heard-node")]
public sealed record HeardNode([property: Id(0)] DateTimeOffset At, [property: Id(1)] string Reporter);

/// <summary>
/// The cluster's record of when each node's agent was last heard, as the silos report it (each node grain notes the
/// heartbeats it accepts; its silo sends them on once a second). It outlives any one node grain: when a silo dies
/// with node grains on it, the record still says when their agents were last heard, so routing drops their replicas
/// once they fall silent and their grains, brought back elsewhere, count the silence from the right moment. The record
/// also keeps which silo reported each node last, so that a check can say whether the grain was lost with its silo.
/// A node the record has not heard of counts as heard at <paramref name="since"/>; one it knows counts from when it was
/// heard, however long ago (a record handed over from an earlier keeper may be old: such a node takes no traffic until it
/// is heard again, which a live agent is within an interval). The record learns of a heartbeat up to
/// <paramref name="lag"/> after it (the silos report once a second), so it calls a node silent only that much after the
/// suspect window: a node grain that is alive calls its node suspect on time itself.
/// </summary>
public sealed class HeardNodes(HeartbeatPolicy policy, DateTimeOffset since, TimeSpan lag, IReadOnlyDictionary<string, HeardNode>? known = null)
{
    // A silent node's grain is asked again this often until it answers for it: at most every two seconds, so that a
    // grain that comes back late is told soon, and at most once an interval for short intervals.
    private static readonly TimeSpan CheckEveryAtMost = TimeSpan.FromSeconds(2);

    private readonly Dictionary<string, HeardNode> _heard = known is null
        ? new(StringComparer.Ordinal)
        : new(known, StringComparer.Ordinal);

    private readonly Dictionary<string, DateTimeOffset> _checked = new(StringComparer.Ordinal);

    public HeartbeatPolicy Policy => policy;

    /// <summary>Everything the record holds, to hand it over to the next activation of its keeper.</summary>
    public IReadOnlyDictionary<string, HeardNode> Known => _heard;

    private TimeSpan CheckEvery => policy.Interval < CheckEveryAtMost ? policy.Interval : CheckEveryAtMost;

    /// <summary>
    /// Where a new record starts for the nodes it has not heard of: as if heard one interval short of the suspect
    /// window ago, so that a node no silo reports within an interval (and the lag) leaves routing, while every node
    /// that is alive is reported within that.
    /// </summary>
    public static DateTimeOffset StartOf(HeartbeatPolicy policy, DateTimeOffset now) => now - (policy.SuspectAfter - policy.Interval);

    /// <summary>
    /// Notes that the node's agent was heard at <paramref name="at"/> by its grain on the silo <paramref name="reporter"/>
    /// (an older report changes nothing).
    /// </summary>
    public void Heard(string nodeId, DateTimeOffset at, string reporter)
    {
        if (!_heard.TryGetValue(nodeId, out var known) || at > known.At)
        {
            _heard[nodeId] = new HeardNode(at, reporter);
            _checked.Remove(nodeId);
        }
    }

    /// <summary>When the node's agent was last heard, as far as the record knows.</summary>
    public DateTimeOffset HeardAt(string nodeId) => _heard.TryGetValue(nodeId, out var heard) ? heard.At : since;

    /// <summary>Takes what another copy of the record knows (the last keeper's, handed over late): the newer time of each node wins.</summary>
    public void Merge(IReadOnlyDictionary<string, HeardNode> known)
    {
        foreach (var (nodeId, heard) in known)
        {
            Heard(nodeId, heard.At, heard.Reporter);
        }
    }

    /// <summary>Whether the node's agent was heard within the suspect window (and the lag): a node that is not takes no traffic.</summary>
    public bool IsHeard(string nodeId, DateTimeOffset now) => policy.IsHeard(HeardAt(nodeId) + lag, now);

    /// <summary>
    /// The nodes among <paramref name="candidates"/> that have fallen silent and whose grains should be asked to check
    /// their health now, each every two seconds at most (once an interval, for shorter intervals): a grain lost with its
    /// silo comes back (wherever Orleans places it) and learns from the record how long its agent has been silent.
    /// <c>GrainLost</c> says that the silo that last reported the node is gone (<paramref name="isGone"/>), or that no
    /// silo has reported it: its agent may be alive and have failed to reach its grain, so it gets a grace to reach the
    /// new one.
    /// </summary>
    public IReadOnlyList<(string NodeId, TimeSpan Silence, bool GrainLost)> DueForCheck(IEnumerable<string> candidates, DateTimeOffset now, Func<string, bool> isGone)
    {
        var due = new List<(string, TimeSpan, bool)>();
        foreach (var nodeId in candidates)
        {
            if (IsHeard(nodeId, now) || (_checked.TryGetValue(nodeId, out var last) && now - last < CheckEvery))
            {
                continue;
            }

            _checked[nodeId] = now;
            var lost = !_heard.TryGetValue(nodeId, out var heard) || isGone(heard.Reporter);
            due.Add((nodeId, now - HeardAt(nodeId), lost));
        }

        return due;
    }
}
