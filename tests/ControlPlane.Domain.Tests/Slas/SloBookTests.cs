using ControlPlane.Domain.Slas;
using CsCheck;

namespace ControlPlane.Domain.Tests.Slas;

public sealed class SloBookTests
{
    private static readonly DateTimeOffset Jan31 = new(2026, 1, 31, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Feb1 = new(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Jan1 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Mar1 = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static IEnumerable<SloMinuteVerdict> Minutes(DateTimeOffset from, int count, bool met) =>
        Enumerable.Range(0, count).Select(i => new SloMinuteVerdict(from.AddMinutes(i), met));

    [Fact]
    public void Record_TheSameVerdictsAgain_CountsNoneTwice()
    {
        var book = new SloBook();
        book.Start(Jan31.AddHours(-1));
        Assert.Equal(10, book.Record(Minutes(Jan31, 10, true)));
        Assert.Equal(0, book.Record(Minutes(Jan31, 10, true)));
        Assert.Equal(2, book.Record(Minutes(Jan31.AddMinutes(8), 4, false)));
        Assert.Equal(new SloMeasurement(24 * 60 + 60, 10, 2), book.Measure(Jan31.AddDays(-1), Feb1, Feb1));
    }

    [Fact]
    public void Measure_AnOutageAcrossTheMonthEnd_SplitsAtMidnightAndUnmeasuredMinutesAreNotMet()
    {
        var book = new SloBook();
        book.Start(Jan1);
        // Up to 23:50 on 31 January all met; the control plane then measured nothing until 00:10 on 1 February
        // (an outage of its own), then found 5 minutes not covered, then all met again.
        book.Record(Minutes(Jan1, (int)(Jan31.AddHours(23).AddMinutes(50) - Jan1).TotalMinutes, true));
        book.Record(Minutes(Feb1.AddMinutes(10), 5, false));
        book.Record(Minutes(Feb1.AddMinutes(15), (int)(Mar1 - Feb1.AddMinutes(15)).TotalMinutes, true));

        var january = book.Measure(Jan1, Feb1, Mar1);
        var february = book.Measure(Feb1, Mar1, Mar1);
        Assert.Equal(new SloMeasurement(31 * 1440, 31 * 1440 - 10, 0), january);
        Assert.Equal(10, january.UnmeasuredMinutes);
        Assert.Equal(new SloMeasurement(28 * 1440, 28 * 1440 - 15, 5), february);
        Assert.Equal(10, february.UnmeasuredMinutes);
        // 44,630 of 44,640 minutes: 99.97759...%.
        Assert.True(january.Below(99.9776m));
        Assert.False(january.Below(99.9775m));
        Assert.Equal(99.9775m, january.AttainmentPercent);
    }

    [Fact]
    public void Measure_OnlyTheMinutesTheDeploymentLived()
    {
        var book = new SloBook();
        book.Start(Jan31.AddHours(12).AddSeconds(30));
        book.Record(Minutes(Jan31.AddHours(12), 3, true)); // 12:00 began before it existed: not taken.
        Assert.Equal(new SloMeasurement(12 * 60 - 1, 2, 0), book.Measure(Jan31, Feb1, Feb1));
        book.Stop(Jan31.AddHours(13));
        Assert.Equal(new SloMeasurement(59, 2, 0), book.Measure(Jan31, Feb1, Feb1));
        Assert.Equal(0, book.Record(Minutes(Jan31.AddHours(14), 1, true)));
        Assert.Equal(SloMeasurement.None, book.Measure(Feb1, Mar1, Mar1));
    }

    [Fact]
    public void Measure_AsOfBeforeThePeriodEnds_CountsMinutesSoFar()
    {
        var book = new SloBook();
        book.Start(Jan1);
        book.Record(Minutes(Jan1, 90, true));
        Assert.Equal(new SloMeasurement(100, 90, 0), book.Measure(Jan1, Feb1, Jan1.AddMinutes(100).AddSeconds(59)));
    }

    [Fact]
    public void Record_VerdictsDeliveredInAnyRetriedOrder_EachMinuteCountedAtMostOnce()
    {
        // A measurer sends verdict batches; some are lost, some resent later, some restarts lose the in-flight ones.
        Gen.Select(Gen.Int[1, 30], Gen.Int[0, 3], Gen.Bool).Array[1, 60].Sample(steps =>
        {
            var book = new SloBook();
            book.Start(Jan1);
            var next = Jan1;
            var sent = new List<SloMinuteVerdict>();
            foreach (var (count, resend, met) in steps)
            {
                var batch = Minutes(next, count, met).ToList();
                next = next.AddMinutes(count);
                sent.AddRange(batch);
                book.Record(batch);
                if (resend > 0)
                {
                    book.Record(sent.TakeLast(Math.Min(sent.Count, count * resend)));
                }
            }

            var m = book.Measure(Jan1, Mar1, next);
            Assert.Equal(sent.Count, m.Minutes);
            Assert.Equal(sent.Count(v => v.Met), m.MetMinutes);
            Assert.Equal(sent.Count(v => !v.Met), m.MissedMinutes);
            Assert.Equal(0, m.UnmeasuredMinutes);
        });
    }
}
