namespace ControlPlane.Domain.Fleet;

/// <summary>Failure detection settings: how often agents heartbeat and how many misses make a node suspect or down.</summary>
/// <param name="Interval">The interval agents are told to heartbeat at.</param>
/// <param name="SuspectAfterMissed">Missed intervals before a node is suspect.</param>
/// <param name="DownAfterMissed">Missed intervals before a node is down.</param>
public sealed record HeartbeatPolicy(TimeSpan Interval, int SuspectAfterMissed, int DownAfterMissed)
{
    public TimeSpan SuspectAfter => Interval * SuspectAfterMissed;

    public TimeSpan DownAfter => Interval * DownAfterMissed;

    /// <summary>
    /// The health a node has at <paramref name="now"/> given when it was last known alive.
    /// Only nodes that have been ready can become suspect or down; an enrolled node that never
    /// heartbeated stays enrolled, and a down node stays down until it heartbeats again.
    /// </summary>
    public NodeHealth Evaluate(NodeHealth current, DateTimeOffset lastAlive, DateTimeOffset now)
    {
        if (current is NodeHealth.Enrolled or NodeHealth.Down)
        {
            return current;
        }

        var silence = now - lastAlive;
        if (silence > DownAfter)
        {
            return NodeHealth.Down;
        }

        return silence > SuspectAfter ? NodeHealth.Suspect : NodeHealth.Ready;
    }
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
