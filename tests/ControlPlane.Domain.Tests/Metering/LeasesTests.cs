using ControlPlane.Domain.Metering;

namespace ControlPlane.Domain.Tests.Metering;

public sealed class LeasesTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);

    [Fact]
    public void Live_RenewedAndRunOut_ListsWhatIsLeftAndForgetsTheEnded()
    {
        var leases = new LeaseTable<string>(Duration);
        leases.Grant("a", TimeSpan.FromSeconds(1));
        leases.Grant("b", TimeSpan.FromSeconds(2));
        leases.Grant("a", TimeSpan.FromSeconds(5));

        Assert.Equal([("a", TimeSpan.FromSeconds(9)), ("b", TimeSpan.FromSeconds(6))], Live(leases, 6));
        Assert.Equal([("a", TimeSpan.FromSeconds(3))], Live(leases, 12));
        Assert.Empty(Live(leases, 15));

        // A lease that ended is granted again as new.
        leases.Grant("b", TimeSpan.FromSeconds(20));
        Assert.Equal([("b", TimeSpan.FromSeconds(10))], Live(leases, 20));
    }

    [Fact]
    public void HeldLease_EndsBeforeTheGrantorsRecordAndIsDueAtHalf()
    {
        var held = new HeldLease(TimeSpan.FromSeconds(100), Duration);

        Assert.True(held.IsValidAt(TimeSpan.FromSeconds(104)));
        Assert.False(held.IsDueAt(TimeSpan.FromSeconds(104)));
        Assert.True(held.IsDueAt(TimeSpan.FromSeconds(105)));
        Assert.True(held.IsValidAt(TimeSpan.FromSeconds(108.9)));
        // The grantor counts from its grant, after the ask: the holder stops relying on it a tenth of the lease before.
        Assert.False(held.IsValidAt(TimeSpan.FromSeconds(109)));
        Assert.False(default(HeldLease).IsValidAt(TimeSpan.Zero));
    }

    private static List<(string, TimeSpan)> Live(LeaseTable<string> leases, double nowSeconds) =>
        [.. leases.Live(TimeSpan.FromSeconds(nowSeconds)).OrderBy(l => l.Holder, StringComparer.Ordinal)];
}
