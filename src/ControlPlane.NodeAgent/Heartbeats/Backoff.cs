namespace ControlPlane.NodeAgent.Heartbeats;

/// <summary>Exponential backoff with jitter for heartbeats the server did not take.</summary>
/// <param name="initial">The first delay.</param>
/// <param name="cap">The longest delay.</param>
/// <param name="jitter">A number in [0, 1); each delay is shortened by up to half, so that nodes cut off together do not return together.</param>
internal sealed class Backoff(TimeSpan initial, TimeSpan cap, Func<double> jitter)
{
    public static readonly TimeSpan DefaultInitial = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultCap = TimeSpan.FromSeconds(30);

    public Backoff()
        : this(DefaultInitial, DefaultCap, Random.Shared.NextDouble)
    {
    }

    /// <summary>Failures since the last success.</summary>
    public int Failures { get; private set; }

    /// <summary>Counts a failure and returns how long to wait: initial, 2 x initial, ... up to the cap.</summary>
    public TimeSpan NextDelay()
    {
        Failures++;
        var exponential = initial * Math.Pow(2, Math.Min(Failures - 1, 30));
        return Jittered(exponential < cap ? exponential : cap);
    }

    /// <summary>Counts a failure and returns the capped delay, for failures that will not clear up by themselves soon.</summary>
    public TimeSpan CappedDelay()
    {
        Failures++;
        return Jittered(cap);
    }

    public void Reset() => Failures = 0;

    private TimeSpan Jittered(TimeSpan delay) => delay * (1 - (0.5 * jitter()));
}
