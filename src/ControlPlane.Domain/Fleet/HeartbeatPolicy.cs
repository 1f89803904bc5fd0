namespace ControlPlane.Domain.Fleet;

/// <summary>Failure detection settings: how often agents heartbeat and how many misses make a node suspect or down.</summary>
/// <param name="Interval">The interval agents are told to heartbeat at.</param>
/// <param name="SuspectAfterMissed">Missed intervals before a node is suspect.</param>
/// <param name="DownAfterMissed">Missed intervals before a node is down.</param>
public sealed record HeartbeatPolicy(TimeSpan Interval, int SuspectAfterMissed, int DownAfterMissed)
{
    // Silence is compared with '>': a check exactly at a deadline changes nothing, one this much later does.
    private static readonly TimeSpan Past = TimeSpan.FromMilliseconds(1);

    public TimeSpan SuspectAfter => Interval * SuspectAfterMissed;

    public TimeSpan DownAfter => Interval * DownAfterMissed;

    /// <summary>
    /// How long a node grain that came back after its silo died waits, at least, before it calls the node down on the
    /// cluster's record of its silence (<see cref="NodeLiveness.WithRecord"/>): an agent that is alive but could not
    /// reach the node's grain while it was lost (its heartbeats failed until the cluster declared the silo dead)
    /// reaches the new activation well within it.
    /// </summary>
    public TimeSpan ReactivationGrace => SuspectAfter;

    /// <summary>
    /// The health a node has at <paramref name="now"/> given when it was last known alive.
    /// Only nodes that have been ready can become suspect or down; an enrolled node that never
    /// heartbeated stays enrolled, and a down node stays down until it heartbeats again.
    /// </summary>
    public NodeHealth Evaluate(NodeHealth current, DateTimeOffset lastAlive, DateTimeOffset now) =>
        Evaluate(current, NodeLiveness.Heartbeat(lastAlive), now);

    /// <summary>
    /// The health a node has at <paramref name="now"/> by what its grain knows of its agent: suspect after
    /// <see cref="SuspectAfter"/> of silence, down after <see cref="DownAfter"/> (and not before
    /// <see cref="NodeLiveness.DownNotBefore"/>).
    /// </summary>
    public NodeHealth Evaluate(NodeHealth current, NodeLiveness liveness, DateTimeOffset now)
    {
        if (current is NodeHealth.Enrolled or NodeHealth.Down)
        {
            return current;
        }

        var silence = now - liveness.HeardAt;
        if (silence > DownAfter && now >= liveness.DownNotBefore(this))
        {
            return NodeHealth.Down;
        }

        return silence > SuspectAfter ? NodeHealth.Suspect : NodeHealth.Ready;
    }

    /// <summary>
    /// When <see cref="Evaluate(NodeHealth, NodeLiveness, DateTimeOffset)"/> next gives another answer if nothing is
    /// heard meanwhile (a moment after the deadline), or null when only a heartbeat can change the node's health.
    /// </summary>
    public DateTimeOffset? NextChange(NodeHealth current, NodeLiveness liveness) => current switch
    {
        NodeHealth.Ready => liveness.HeardAt + SuspectAfter + Past,
        NodeHealth.Suspect => Later(liveness.HeardAt + DownAfter + Past, liveness.DownNotBefore(this)),
        _ => null,
    };

    /// <summary>
    /// Whether a node last heard at <paramref name="heardAt"/> is still heard at <paramref name="now"/>: within the
    /// suspect window, the time a healthy agent's heartbeats are never apart.
    /// </summary>
    public bool IsHeard(DateTimeOffset heardAt, DateTimeOffset now) => now - heardAt <= SuspectAfter;

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}

/// <summary>
/// What a node grain knows of its agent's liveness. An activation that has heard the agent knows when it last did. A
/// fresh one (its silo died, or Orleans moved it) knows nothing: it presumes the agent heard at its activation (a
/// full window, so the control plane's own failure never turns a healthy node down), unless the cluster's record says
/// when the agent was last heard (<see cref="WithRecord"/>): then the silence counts from there. When the grain was
/// lost with its silo, a live agent could not reach it until the cluster declared that silo dead, so the node is then
/// suspect at once if the record is old, but down only after <see cref="HeartbeatPolicy.ReactivationGrace"/> has given
/// the agent the time to reach this activation. When the grain lived on a silo that still runs (Orleans deactivated it
/// because the silo holding its directory entry died), a live agent reached it, or its next activation, all along: the
/// record's silence counts in full.
/// </summary>
/// <param name="HeardAt">When the agent was last heard (or presumed alive).</param>
/// <param name="ActivatedAt">When the grain's activation started.</param>
/// <param name="HeardHere">This activation has heard the agent itself.</param>
/// <param name="Grace">HeardAt comes from the record of a grain lost with its silo: not down before the grace.</param>
public readonly record struct NodeLiveness(DateTimeOffset HeardAt, DateTimeOffset ActivatedAt, bool HeardHere, bool Grace)
{
    /// <summary>A fresh activation at <paramref name="at"/> that has heard nothing yet.</summary>
    public static NodeLiveness Activated(DateTimeOffset at) => new(at, at, HeardHere: false, Grace: false);

    /// <summary>A heartbeat was accepted at <paramref name="at"/>.</summary>
    public static NodeLiveness Heartbeat(DateTimeOffset at) => new(at, at, HeardHere: true, Grace: false);

    /// <summary>A heartbeat was accepted at <paramref name="at"/> by this activation.</summary>
    public NodeLiveness HeardAgain(DateTimeOffset at) => this with { HeardAt = at, HeardHere = true, Grace = false };

    /// <summary>
    /// Takes the cluster's record that the agent was last heard at <paramref name="heardAt"/>, when this activation
    /// has not heard it itself (its own heartbeats are newer than any record of older ones). <paramref name="grainLost"/>:
    /// the grain that heard it was lost with its silo.
    /// </summary>
    public NodeLiveness WithRecord(DateTimeOffset heardAt, bool grainLost) =>
        HeardHere || heardAt >= HeardAt ? this : this with { HeardAt = heardAt, Grace = grainLost };

    /// <summary>The earliest a node may be called down: after a lost grain's record, a grace after this activation started.</summary>
    public DateTimeOffset DownNotBefore(HeartbeatPolicy policy) =>
        Grace ? ActivatedAt + policy.ReactivationGrace : DateTimeOffset.MinValue;
}

/// <summary>How an agent's heartbeat sequence is judged.</summary>
public enum SequenceVerdict
{
    /// <summary>Newer than anything seen: apply it.</summary>
    Accept,
    /// <summary>A new agent process (its sequence starts again): apply it and follow the new session.</summary>
    AcceptNewSession,
    /// <summary>Older than or equal to the last one seen in the same session: a delayed or repeated request; ignore it.</summary>
    Stale,
}

public static class HeartbeatSequence
{
    /// <summary>
    /// Agents number heartbeats from 1 in each process and send a session id that is new per process, so
    /// a restarted agent (sequence back at 1) is told apart from a delayed request of the old one.
    /// An agent that sends no session id is taken as restarted when its sequence goes back to 1.
    /// </summary>
    public static SequenceVerdict Judge(string? lastSession, long lastSequence, string? session, long sequence)
    {
        if (session is not null)
        {
            if (!string.Equals(session, lastSession, StringComparison.Ordinal))
            {
                return SequenceVerdict.AcceptNewSession;
            }

            return sequence > lastSequence ? SequenceVerdict.Accept : SequenceVerdict.Stale;
        }

        if (sequence > lastSequence)
        {
            return lastSession is null ? SequenceVerdict.Accept : SequenceVerdict.AcceptNewSession;
        }

        return sequence <= 1 && lastSequence > 1 ? SequenceVerdict.AcceptNewSession : SequenceVerdict.Stale;
    }
}
