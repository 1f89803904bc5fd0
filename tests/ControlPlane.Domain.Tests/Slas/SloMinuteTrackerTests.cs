using ControlPlane.Domain.Slas;
using CsCheck;

namespace ControlPlane.Domain.Tests.Slas;

public sealed class SloMinuteTrackerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 31, 23, 58, 0, TimeSpan.Zero);
    private static readonly TimeSpan Gap = TimeSpan.FromSeconds(15);

    private static List<SloMinuteVerdict> Feed(SloMinuteTracker tracker, params (double Seconds, bool Covered)[] samples) =>
        samples.SelectMany(s => tracker.Observe(T0.AddSeconds(s.Seconds), s.Covered)).ToList();

    [Fact]
    public void Covered_DemandCappedAtTheReservation()
    {
        // 2 reserved replicas of 100 tokens/s: demand of 500 is due only up to 200.
        Assert.True(SloMinute.Covered(500m, 2, 2, 100m));
        Assert.False(SloMinute.Covered(150m, 1, 2, 100m));
        Assert.True(SloMinute.Covered(100m, 1, 2, 100m));
        Assert.True(SloMinute.Covered(0m, 0, 2, 100m));
        Assert.True(SloMinute.Covered(1000m, 0, 0, 100m));
    }

    [Fact]
    public void Observe_SamplesEvery5SecondsAllCovered_OneMetVerdictPerWholeMinute()
    {
        var tracker = new SloMinuteTracker(Gap);
        var verdicts = Feed(tracker, Enumerable.Range(0, 37).Select(i => (i * 5.0, true)).ToArray());
        // 0..180 s: minutes 23:58, 23:59 and 00:00 are whole.
        Assert.Equal([new(T0, true), new(T0.AddMinutes(1), true), new(T0.AddMinutes(2), true)], verdicts);
    }

    [Fact]
    public void Observe_OneUncoveredSpan_MissesOnlyItsMinute()
    {
        var tracker = new SloMinuteTracker(Gap);
        // Gaps of 60 and 50 s are unobserved time: no minute is observed throughout, none is judged.
        Assert.Empty(Feed(tracker, (0, true), (10, true), (70, true), (75, false), (80, true), (130, true), (190, true)));

        var dense = new SloMinuteTracker(Gap);
        var samples = Enumerable.Range(0, 25).Select(i => (i * 5.0, i != 15)).ToArray();
        Assert.Equal([new(T0, true), new(T0.AddMinutes(1), false)], Feed(dense, samples));
    }

    [Fact]
    public void Observe_StartedMidMinute_ThatMinuteHasNoVerdict()
    {
        var tracker = new SloMinuteTracker(Gap);
        var verdicts = Feed(tracker, Enumerable.Range(0, 19).Select(i => (30 + i * 5.0, true)).ToArray());
        Assert.Equal([new(T0.AddMinutes(1), true)], verdicts);
    }

    [Fact]
    public void Observe_SampleFromThePast_Ignored()
    {
        var tracker = new SloMinuteTracker(Gap);
        Feed(tracker, (0, true), (10, true));
        Assert.Empty(tracker.Observe(T0.AddSeconds(5), false));
        Assert.Equal([new(T0, true)], Feed(tracker, (15, true), (30, true), (45, true), (60, true)));
    }

    [Fact]
    public void Observe_AnySamples_EveryMinuteJudgedAtMostOnceInOrder_MetOnlyWhenObservedCoveredThroughout()
    {
        var samples = Gen.Select(Gen.Int[1, 40], Gen.Bool).Array[1, 200];
        samples.Sample(steps =>
        {
            var tracker = new SloMinuteTracker(Gap);
            var at = T0;
            var timeline = new List<(DateTimeOffset At, bool Covered)>();
            var verdicts = new List<SloMinuteVerdict>();
            foreach (var (seconds, covered) in steps)
            {
                at = at.AddSeconds(seconds);
                timeline.Add((at, covered));
                verdicts.AddRange(tracker.Observe(at, covered));
            }

            Assert.Equal(verdicts.Select(v => v.Minute).Distinct().Count(), verdicts.Count);
            Assert.Equal(verdicts.OrderBy(v => v.Minute).Select(v => v.Minute), verdicts.Select(v => v.Minute));
            foreach (var v in verdicts)
            {
                // Judged minutes lie inside the observed timeline, every gap across them is within the limit, and a met
                // minute saw no uncovered span (the state before a sample governs until it).
                var end = v.Minute.AddMinutes(1);
                var spans = timeline.Zip(timeline.Skip(1)).Where(p => p.Second.At > v.Minute && p.First.At < end).ToList();
                Assert.NotEmpty(spans);
                Assert.True(spans[0].First.At <= v.Minute && spans[^1].Second.At >= end);
                Assert.All(spans, p => Assert.True(p.Second.At - p.First.At <= Gap));
                Assert.Equal(spans.All(p => p.First.Covered), v.Met);
            }

            // And every minute observed throughout, before the last sample, has its verdict.
            for (var minute = SloMinute.Ceiling(timeline[0].At); minute.AddMinutes(1) <= at; minute = minute.AddMinutes(1))
            {
                var end = minute.AddMinutes(1);
                var spans = timeline.Zip(timeline.Skip(1)).Where(p => p.Second.At > minute && p.First.At < end).ToList();
                var observed = spans.All(p => p.Second.At - p.First.At <= Gap);
                Assert.Equal(observed, verdicts.Any(v => v.Minute == minute));
            }
        });
    }
}
