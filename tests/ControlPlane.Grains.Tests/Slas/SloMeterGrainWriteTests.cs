using ControlPlane.Contracts;
using ControlPlane.Contracts.Slas;
using ControlPlane.Domain.Slas;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Slas;

/// <summary>The SLO meter when its storage fails: a verdict counts once written, and a resend never counts it twice.</summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class SloMeterGrainWriteTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    private static readonly DateTimeOffset Created = new(2026, 1, 31, 23, 50, 30, TimeSpan.Zero);
    private static readonly DateTimeOffset Jan1 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Feb1 = new(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);

    private static List<SloMinuteVerdict> Minutes(DateTimeOffset from, int count, bool met) =>
        Enumerable.Range(0, count).Select(i => new SloMinuteVerdict(from.AddMinutes(i), met)).ToList();

    [Fact]
    public async Task RecordAsync_FailedWriteThenResentWithMore_EachMinuteCountedOnceAndKeptAcrossReactivation()
    {
        var meter = fixture.Cluster.Client.GetGrain<ISloMeterGrain>(GrainKeys.SloMeter("slo-" + Guid.NewGuid().ToString("N")[..8]));
        await meter.StartAsync(Created);
        Assert.Equal(3, await meter.RecordAsync(Minutes(Created.AddSeconds(30), 3, true)));

        fixture.Faults.FailWrites(meter);
        await Assert.ThrowsAnyAsync<Exception>(() => meter.RecordAsync(Minutes(Created.AddSeconds(30).AddMinutes(3), 2, false)));
        Assert.Equal(new SloMeasurement(9, 3, 0), await meter.MeasureAsync(Jan1, Feb1, Feb1));

        // The measurer resends what it could not store, with the next minutes, and once more after that.
        var resend = Minutes(Created.AddSeconds(30), 3, true).Concat(Minutes(Created.AddSeconds(30).AddMinutes(3), 2, false)).Concat(Minutes(Created.AddSeconds(30).AddMinutes(5), 2, true)).ToList();
        Assert.Equal(4, await meter.RecordAsync(resend));
        Assert.Equal(0, await meter.RecordAsync(resend));

        await fixture.Cluster.DeactivateAsync(meter);
        Assert.Equal(new SloMeasurement(9, 5, 2), await meter.MeasureAsync(Jan1, Feb1, Feb1));
    }

    [Fact]
    public async Task RecordAsync_WriteStoredButReportedFailed_ResendCountsNothingTwice()
    {
        var meter = fixture.Cluster.Client.GetGrain<ISloMeterGrain>(GrainKeys.SloMeter("slo-" + Guid.NewGuid().ToString("N")[..8]));
        await meter.StartAsync(Created);
        fixture.Faults.FailWritesAfterStoring(meter);
        await Assert.ThrowsAnyAsync<Exception>(() => meter.RecordAsync(Minutes(Created.AddSeconds(30), 4, false)));

        Assert.Equal(0, await meter.RecordAsync(Minutes(Created.AddSeconds(30), 4, false)));
        Assert.Equal(new SloMeasurement(9, 0, 4), await meter.MeasureAsync(Jan1, Feb1, Feb1));
    }
}
