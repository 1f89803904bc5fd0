using ControlPlane.Domain.Deployments;
using CsCheck;

namespace ControlPlane.Domain.Tests.Deployments;

/// <summary>Random specs and demand sequences: the autoscaler stays within bounds and never scales down early.</summary>
public sealed class AutoscalerPropertyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private static readonly Gen<DeploymentSpec> Specs =
        Gen.Select(Gen.Int[0, 4], Gen.Int[0, 8], Gen.Enum<DeploymentClass>(), Gen.Int[1, 5_000])
            .Select((min, extra, cls, perReplica) => new DeploymentSpec(
                "d", "m", cls, cls == DeploymentClass.Dedicated ? "c" : null, 1, 0, null, null,
                min, cls == DeploymentClass.Dedicated ? min : 0, Math.Max(1, min + extra), perReplica));

    private static readonly Gen<(decimal Demand, int Millis)> Signals =
        Gen.Select(
            Gen.Frequency((1, Gen.Const(0m)), (6, Gen.Int[0, 40_000].Select(d => (decimal)d)), (1, Gen.Int[0, 4_000_000].Select(d => d / 1_000m))),
            Gen.Frequency((4, Gen.Int[0, 15_000]), (1, Gen.Int[15_000, 120_000]), (1, Gen.Const(0))));

    [Fact]
    public void Next_AnyDemand_StaysWithinBoundsAndNeverScalesDownBeforeTheDelay()
    {
        Gen.Select(Specs, Gen.Int[0, 90], Signals.Array[1, 80]).Sample((spec, delaySeconds, signals) =>
        {
            var delay = TimeSpan.FromSeconds(delaySeconds);
            var scaler = new Autoscaler(delay);
            var state = Autoscaler.Start(spec);
            var now = T0;
            DateTimeOffset? lowerSince = null;
            var history = new List<(DateTimeOffset At, int Wanted)>();

            foreach (var (demand, millis) in signals)
            {
                now = now.AddMilliseconds(millis);
                var wanted = Autoscaler.Wanted(spec, demand);
                var before = state.Desired;
                state = scaler.Next(state, spec, demand, now);
                history.Add((now, wanted));

                Assert.InRange(state.Desired, spec.MinReplicas, spec.MaxReplicas);
                Assert.True(state.Desired >= wanted, "demand above the desired replicas scales up at once");

                var stretchStart = wanted < before ? lowerSince ?? now : (DateTimeOffset?)null;
                if (state.Desired < before)
                {
                    Assert.True(stretchStart is { } since && now - since >= delay, "scaled down before demand stayed lower for the delay");
                    Assert.All(history.Where(h => now - h.At < delay), h => Assert.True(h.Wanted <= state.Desired));
                }

                lowerSince = wanted >= state.Desired ? null
                    : state.Desired != before ? now
                    : stretchStart;
            }
        }, iter: 2_000);
    }

    [Fact]
    public void Next_WithForecastAnyDemand_StaysWithinBoundsAndNeverBelowWhatDemandWants()
    {
        Gen.Select(Specs, Gen.Int[1, 900], Signals.Array[1, 80]).Sample((spec, horizonSeconds, signals) =>
        {
            var scaler = new Autoscaler(TimeSpan.FromSeconds(30), Forecast.For(TimeSpan.FromSeconds(horizonSeconds)));
            var state = Autoscaler.Start(spec);
            var now = T0;
            foreach (var (demand, millis) in signals)
            {
                now = now.AddMilliseconds(millis);
                state = scaler.Next(state, spec, demand, now);

                Assert.InRange(state.Desired, spec.MinReplicas, spec.MaxReplicas);
                Assert.True(state.Desired >= Autoscaler.Wanted(spec, demand), "headroom never leaves demand short");
                Assert.True(state.Rise >= 0);
                Assert.InRange(Autoscaler.Keeps(state), spec.MinReplicas, state.Desired);
            }
        }, iter: 2_000);
    }
}
