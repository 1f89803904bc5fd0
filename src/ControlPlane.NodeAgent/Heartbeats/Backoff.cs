namespace ControlPlane.NodeAgent.Heartbeats;

/// <summary>
/// How long to wait after a heartbeat the server did not take, sized so that a node stays within its suspect window
/// (two heartbeat intervals) while any server of the list answers: the next server of the list is tried after a short
/// pause; once every server failed in a round, the wait grows from a tenth of the interval, doubling, up to the
/// interval itself (0.5, 1, 2, 4, 5, 5 s at the default 5 s), so four attempts fit between a missed heartbeat and the
/// end of the window. Each wait is shortened by up to half at random, so that nodes cut off together do not return together.
/// </summary>
/// <param name="jitter">A number in [0, 1); each delay is shortened by that fraction of a half.</param>
internal sealed class Backoff(Func<double> jitter)
{
    /// <summary>The wait after a refused token: it will not clear up by itself, and retrying fast helps nobody.</summary>
    public static readonly TimeSpan Slow = TimeSpan.FromSeconds(30);

    /// <summary>The pause before trying the next server of the list after one failed.</summary>
    public static readonly TimeSpan FailoverPause = TimeSpan.FromMilliseconds(100);

    // The first wait after a round of failures, as a fraction of the interval, and never shorter than this.
    private const int FirstFraction = 10;
    private static readonly TimeSpan Shortest = TimeSpan.FromMilliseconds(100);

    public Backoff()
        : this(Random.Shared.NextDouble)
    {
    }

    /// <summary>Failures since the last success.</summary>
    public int Failures { get; private set; }

    /// <summary>
    /// Counts a failure and returns how long to wait before the next attempt, which goes to the next of
    /// <paramref name="servers"/> servers: <see cref="FailoverPause"/> while a server of the list is untried in this
    /// round; after a round in which all failed, a tenth of <paramref name="interval"/>, doubling each round, up to the interval.
    /// </summary>
    public TimeSpan NextDelay(TimeSpan interval, int servers = 1)
    {
        Failures++;
        servers = Math.Max(servers, 1);
        if (Failures % servers != 0)
        {
            return Jittered(FailoverPause);
        }

        var rounds = Failures / servers;
        var first = interval / FirstFraction;
        var exponential = (first > Shortest ? first : Shortest) * Math.Pow(2, Math.Min(rounds - 1, 30));
        return Jittered(exponential < interval ? exponential : interval);
    }

    /// <summary>Counts a failure and returns <see cref="Slow"/>, for failures that will not clear up by themselves soon.</summary>
    public TimeSpan SlowDelay()
    {
        Failures++;
        return Jittered(Slow);
    }

    public void Reset() => Failures = 0;

    private TimeSpan Jittered(TimeSpan delay) => delay * (1 - (0.5 * jitter()));
}
