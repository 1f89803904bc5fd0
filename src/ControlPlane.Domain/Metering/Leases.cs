namespace ControlPlane.Domain.Metering;

/// <summary>
/// The leases a grain granted on a copy of its state (the price list to each silo's cache): who holds one and when it
/// was granted, on the grantor's monotonic clock. A holder counts its lease from before it asked
/// (<see cref="HeldLease"/>), so the grantor's record of a lease ends after the holder stops using it.
/// </summary>
public sealed class LeaseTable<THolder>(TimeSpan duration)
    where THolder : notnull
{
    private readonly Dictionary<THolder, TimeSpan> _grantedAt = [];

    public TimeSpan Duration => duration;

    /// <summary>Grants (or renews) <paramref name="holder"/>'s lease at <paramref name="now"/>.</summary>
    public void Grant(THolder holder, TimeSpan now) => _grantedAt[holder] = now;

    /// <summary>The leases still running at <paramref name="now"/> and what is left of each; the others are forgotten.</summary>
    public List<(THolder Holder, TimeSpan Left)> Live(TimeSpan now)
    {
        var live = new List<(THolder, TimeSpan)>(_grantedAt.Count);
        List<THolder>? ended = null;
        foreach (var (holder, grantedAt) in _grantedAt)
        {
            var left = grantedAt + duration - now;
            if (left > TimeSpan.Zero)
            {
                live.Add((holder, left));
            }
            else
            {
                (ended ??= []).Add(holder);
            }
        }

        foreach (var holder in ended ?? [])
        {
            _grantedAt.Remove(holder);
        }

        return live;
    }
}

/// <summary>
/// A lease as its holder sees it: asked for at <paramref name="AskedAt"/> (the holder's monotonic clock, before the
/// request left) for <paramref name="Granted"/>. The holder uses it for <see cref="UsableFraction"/> of that, which
/// leaves room for the two clocks to run at different rates (far less than 10% apart), and renews it after half.
/// </summary>
public readonly record struct HeldLease(TimeSpan AskedAt, TimeSpan Granted)
{
    public const double UsableFraction = 0.9;

    /// <summary>Whether the holder may still rely on what it was granted.</summary>
    public bool IsValidAt(TimeSpan now) => now - AskedAt < Granted * UsableFraction;

    /// <summary>Whether it is time to ask again (in the background, while the lease still holds).</summary>
    public bool IsDueAt(TimeSpan now) => now - AskedAt >= Granted / 2;
}
