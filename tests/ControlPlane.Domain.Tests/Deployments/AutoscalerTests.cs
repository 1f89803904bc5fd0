using ControlPlane.Domain.Deployments;

namespace ControlPlane.Domain.Tests.Deployments;

public sealed class AutoscalerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private static readonly Autoscaler Scaler = Autoscaler.Default;

    private static readonly DeploymentSpec Spec = new(
        "acme-chat", "llama-3.1-70b", DeploymentClass.Dedicated, "acme", 4, 80, null, null, 1, 2, 8, 1_000m);

    [Theory]
    [InlineData(0, 1)]
    [InlineData(-5, 1)]
    [InlineData(1, 1)]
    [InlineData(1_000, 1)]
    [InlineData(1_000.001, 2)]
    [InlineData(2_500, 3)]
    [InlineData(8_000, 8)]
    [InlineData(8_000_000_000_000, 8)]
    public void Wanted_Demand_IsCeilOfDemandOverThroughputWithinBounds(decimal tokensPerSecond, int expected)
    {
        Assert.Equal(expected, Autoscaler.Wanted(Spec, tokensPerSecond));
    }

    [Fact]
    public void Wanted_BatchWithAnyDemand_WantsMax()
    {
        var batch = Spec with { Class = DeploymentClass.Batch, CustomerId = null, ReservedReplicas = 0, MinReplicas = 0 };

        Assert.Equal(8, Autoscaler.Wanted(batch, 0.5m));
        Assert.Equal(0, Autoscaler.Wanted(batch, 0m));
    }

    [Fact]
    public void Next_HigherDemand_ScalesUpAtOnce()
    {
        var state = Autoscaler.Start(Spec);

        var next = Scaler.Next(state, Spec, 5_000m, T0);

        Assert.Equal(new AutoscaleState(5, null, 0), next);
    }

    [Fact]
    public void Next_LowerDemand_ScalesDownOnlyAfterTheDelay()
    {
        var state = Scaler.Next(Autoscaler.Start(Spec), Spec, 5_000m, T0);

        state = Scaler.Next(state, Spec, 2_000m, T0.AddSeconds(1));
        Assert.Equal(5, state.Desired);
        Assert.Equal(T0.AddSeconds(61), Scaler.ScaleDownDueAt(state));

        state = Scaler.Next(state, Spec, 2_000m, T0.AddSeconds(60.999));
        Assert.Equal(5, state.Desired);

        state = Scaler.Next(state, Spec, 2_000m, T0.AddSeconds(61));
        Assert.Equal(new AutoscaleState(2, null, 0), state);
    }

    [Fact]
    public void Next_FlappingDemand_DoesNotChurn()
    {
        var state = Scaler.Next(Autoscaler.Start(Spec), Spec, 6_000m, T0);
        var desired = new List<int>();
        for (var s = 1; s <= 300; s += 5)
        {
            state = Scaler.Next(state, Spec, s % 2 == 0 ? 6_000m : 1_000m, T0.AddSeconds(s));
            desired.Add(state.Desired);
        }

        Assert.All(desired, d => Assert.Equal(6, d));
    }

    [Fact]
    public void Next_DemandThatDipsAndPartlyRecovers_ScalesDownToTheMostItWantedMeanwhile()
    {
        var state = Scaler.Next(Autoscaler.Start(Spec), Spec, 6_000m, T0);
        state = Scaler.Next(state, Spec, 1_000m, T0.AddSeconds(10));
        state = Scaler.Next(state, Spec, 4_000m, T0.AddSeconds(40));
        state = Scaler.Next(state, Spec, 1_000m, T0.AddSeconds(70));

        Assert.Equal(4, state.Desired);
        Assert.Equal(T0.AddSeconds(70), state.LowerSince);

        state = Scaler.Next(state, Spec, 1_000m, T0.AddSeconds(130));
        Assert.Equal(1, state.Desired);
    }

    [Fact]
    public void Next_BoundsChangedBySpec_ApplyAtOnce()
    {
        var state = Scaler.Next(Autoscaler.Start(Spec), Spec, 8_000m, T0);

        Assert.Equal(4, Scaler.Next(state, Spec with { MaxReplicas = 4 }, 8_000m, T0.AddSeconds(1)).Desired);
        Assert.Equal(3, Scaler.Next(Autoscaler.Start(Spec), Spec with { MinReplicas = 3 }, 0m, T0).Desired);
    }

    [Fact]
    public void Next_ZeroDelay_ScalesDownOnTheFirstLowerSignalAfterIt()
    {
        var scaler = new Autoscaler(TimeSpan.Zero);
        var state = scaler.Next(Autoscaler.Start(Spec), Spec, 3_000m, T0);

        Assert.Equal(1, scaler.Next(state, Spec, 0m, T0).Desired);
    }

    [Fact]
    public void Next_WithForecast_KeepsTheRiseSeenWithinTheHorizonAsHeadroom()
    {
        var scaler = new Autoscaler(TimeSpan.FromSeconds(60), Forecast.For(TimeSpan.FromSeconds(120)));

        var state = scaler.Next(Autoscaler.Start(Spec), Spec, 1_000m, T0);
        Assert.Equal(1, state.Desired);

        // 1,000 -> 3,000 within two minutes: the next two minutes may rise as much, so 3,000 + 2,000 is asked for.
        state = scaler.Next(state, Spec, 3_000m, T0.AddSeconds(60));
        Assert.Equal(2_000m, state.Rise);
        Assert.Equal(5, state.Desired);
    }

    [Fact]
    public void Next_WithForecast_ForgetsARiseByHalfEveryHalfLife()
    {
        var scaler = new Autoscaler(TimeSpan.FromSeconds(60), Forecast.For(TimeSpan.FromSeconds(120)));
        var state = scaler.Next(scaler.Next(Autoscaler.Start(Spec), Spec, 1_000m, T0), Spec, 3_000m, T0.AddSeconds(60));

        state = scaler.Next(state, Spec, 3_000m, T0.AddSeconds(60) + Forecast.DefaultRiseHalfLife);

        Assert.Equal(1_000m, state.Rise);
        Assert.Equal(4, Autoscaler.Keeps(state));
    }

    [Fact]
    public void Next_WithForecast_ScalesDownNoSoonerThanTheHorizon()
    {
        var scaler = new Autoscaler(TimeSpan.FromSeconds(10), Forecast.For(TimeSpan.FromSeconds(300)));
        var state = scaler.Next(Autoscaler.Start(Spec), Spec, 5_000m, T0);
        Assert.Equal(TimeSpan.FromSeconds(300), scaler.EffectiveScaleDownDelay);

        // Demand falls to 1,000 and stays there, a signal every 10 s. The peak is kept while it is within the horizon,
        // and the lower stretch that follows must last the horizon, not the 10 s delay.
        DateTimeOffset? lowerSince = null;
        DateTimeOffset? scaledDown = null;
        for (var s = 10; s <= 1_200 && scaledDown is null; s += 10)
        {
            var before = state.Desired;
            state = scaler.Next(state, Spec, 1_000m, T0.AddSeconds(s));
            lowerSince ??= state.LowerSince;
            if (state.Desired < before)
            {
                scaledDown = T0.AddSeconds(s);
            }
        }

        Assert.NotNull(scaledDown);
        Assert.True(scaledDown - T0 >= TimeSpan.FromSeconds(300), $"scaled down after {scaledDown - T0}");
        Assert.True(scaledDown - lowerSince >= TimeSpan.FromSeconds(300), $"lower for {scaledDown - lowerSince} before scaling down");
    }

    [Fact]
    public void Next_HeadroomPercent_TakesThePlaceOfTheLearnedRise()
    {
        var scaler = new Autoscaler(TimeSpan.FromSeconds(60), Forecast.For(TimeSpan.FromSeconds(120)));
        var spec = Spec with { HeadroomPercent = 10 };

        var state = scaler.Next(scaler.Next(Autoscaler.Start(spec), spec, 1_000m, T0), spec, 3_000m, T0.AddSeconds(60));

        // 3,000 + 10%, not 3,000 + the 2,000 it rose.
        Assert.Equal(4, state.Desired);
    }

    [Fact]
    public void Next_WithForecast_BatchStillWantsItsMaximum()
    {
        var scaler = new Autoscaler(TimeSpan.FromSeconds(60), Forecast.For(TimeSpan.FromSeconds(120)));
        var batch = Spec with { Class = DeploymentClass.Batch, CustomerId = null, ReservedReplicas = 0, MinReplicas = 0 };

        Assert.Equal(8, scaler.Next(Autoscaler.Start(batch), batch, 1m, T0).Desired);
    }

    [Fact]
    public void Keeps_PendingScaleDown_IsWhereItWillGo()
    {
        Assert.Equal(5, Autoscaler.Keeps(new AutoscaleState(5, null, 0)));
        Assert.Equal(3, Autoscaler.Keeps(new AutoscaleState(5, T0, 3)));
    }

    [Theory]
    [InlineData(100, 200, 200)]
    [InlineData(200, 100, 180)]
    [InlineData(200, 200, 200)]
    public void LoadTimeEstimate_SlowerAtOnceFasterAFifthOfTheWay(int estimate, int observed, int expected)
    {
        Assert.Equal(TimeSpan.FromSeconds(expected), LoadTimeEstimate.Next(TimeSpan.FromSeconds(estimate), TimeSpan.FromSeconds(observed)));
    }

    [Fact]
    public void Awake_AfterARise_RunsDemandPlusTheRiseSeenWithinOneScaleDownDelayAndLeavesTheRestOfTheHeadroom()
    {
        // A 10-minute horizon: the learned rise (within the horizon) is larger than the quick one (within the 60 s delay).
        var scaler = new Autoscaler(TimeSpan.FromSeconds(60), Forecast.For(TimeSpan.FromMinutes(10)));
        var state = scaler.Next(Learned(Spec), Spec, 1_000m, T0);
        state = scaler.Next(state, Spec, 2_000m, T0.AddMinutes(5));
        state = scaler.Next(state, Spec, 3_000m, T0.AddMinutes(6));

        Assert.Equal(2_000m, state.Rise);
        Assert.Equal(1_000m, state.QuickRise);
        Assert.Equal(5, state.Desired);
        Assert.Equal(4, scaler.Awake(state, Spec, T0.AddMinutes(6)));
    }

    [Fact]
    public void Awake_QuickRiseIsForgottenByHalfEveryHalfLife()
    {
        var scaler = new Autoscaler(TimeSpan.FromSeconds(60), Forecast.For(TimeSpan.FromSeconds(120)));
        var state = scaler.Next(Autoscaler.Start(Spec), Spec, 1_000m, T0);
        state = scaler.Next(state, Spec, 3_000m, T0.AddSeconds(60));
        Assert.Equal(2_000m, state.QuickRise);

        state = scaler.Next(state, Spec, 3_000m, T0.AddSeconds(60) + Forecast.DefaultRiseHalfLife);

        Assert.Equal(1_000m, state.QuickRise);
        Assert.Equal(4, scaler.Awake(state, Spec, T0.AddSeconds(60) + Forecast.DefaultRiseHalfLife));
    }

    [Fact]
    public void Awake_NeverAboveDesiredNorBelowMin()
    {
        var scaler = new Autoscaler(TimeSpan.FromSeconds(60), Forecast.For(TimeSpan.FromSeconds(120)));
        var state = scaler.Next(Autoscaler.Start(Spec), Spec, 0m, T0);
        Assert.Equal(Spec.MinReplicas, scaler.Awake(state, Spec, T0));

        state = scaler.Next(state, Spec, 7_500m, T0.AddSeconds(60));
        Assert.Equal(state.Desired, scaler.Awake(state, Spec, T0.AddSeconds(60)));
    }

    /// <summary>A deployment's starting state whose rises have been learned for a while (see the tests of learning below).</summary>
    private static AutoscaleState Learned(DeploymentSpec spec) => Autoscaler.Start(spec) with { LearningSince = T0 - Forecast.DefaultRiseHalfLife };

    [Fact]
    public void Awake_WhileRisesAreStillBeingLearned_EveryDesiredReplicaRuns()
    {
        // A deployment an hour old has not seen its bursts yet: a quick rise of 0 would put all its headroom to sleep.
        var scaler = new Autoscaler(TimeSpan.FromSeconds(60), Forecast.For(TimeSpan.FromMinutes(10)));
        var state = scaler.Next(Autoscaler.Start(Spec), Spec, 1_000m, T0);
        state = scaler.Next(state, Spec, 2_000m, T0.AddMinutes(5));
        state = scaler.Next(state, Spec, 3_000m, T0.AddMinutes(6));

        Assert.Equal(T0, state.LearningSince);
        Assert.Equal(5, scaler.Awake(state, Spec, T0.AddMinutes(6)));
        Assert.Equal(5, scaler.Awake(state, Spec, T0 + Forecast.DefaultRiseHalfLife - TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Next_StateStoredBeforeLearningWasRecorded_StartsLearningAtTheNextSignal()
    {
        var scaler = new Autoscaler(TimeSpan.FromSeconds(60), Forecast.For(TimeSpan.FromMinutes(10)));
        var stored = new AutoscaleState(3, null, 0, [new DemandBucket(T0, 2_000m, 2_000m)], 500m, T0, 500m);

        var state = scaler.Next(stored, Spec, 2_000m, T0.AddMinutes(1));

        Assert.Equal(T0.AddMinutes(1), state.LearningSince);
        Assert.Equal(state.Desired, scaler.Awake(state, Spec, T0.AddMinutes(1)));
    }

    [Fact]
    public void Awake_Serverless_RunsDemandPlusItsQuickRiseAndLeavesTheRestOfTheHeadroomAsleepLikeDedicated()
    {
        // A serverless miss is spilled demand, but its replicas wake in seconds like a dedicated deployment's: only what a
        // rise may add before a woken engine serves needs to run.
        var scaler = new Autoscaler(TimeSpan.FromSeconds(60), Forecast.For(TimeSpan.FromMinutes(10)));
        var serverless = Spec with { Class = DeploymentClass.Serverless, CustomerId = null, ReservedReplicas = 0 };
        var state = scaler.Next(Learned(serverless), serverless, 1_000m, T0);
        state = scaler.Next(state, serverless, 2_000m, T0.AddMinutes(5));
        state = scaler.Next(state, serverless, 3_000m, T0.AddMinutes(6));

        Assert.Equal(5, state.Desired);
        Assert.Equal(4, scaler.Awake(state, serverless, T0.AddMinutes(6)));
    }

    [Fact]
    public void Awake_BatchOrNoForecast_IsNullSoEveryDesiredReplicaRuns()
    {
        var forecasting = new Autoscaler(TimeSpan.FromSeconds(60), Forecast.For(TimeSpan.FromSeconds(120)));
        var batch = Spec with { Class = DeploymentClass.Batch, CustomerId = null, ReservedReplicas = 0 };

        Assert.Null(forecasting.Awake(forecasting.Next(Autoscaler.Start(batch), batch, 2_000m, T0), batch, T0));
        Assert.Null(Scaler.Awake(Scaler.Next(Autoscaler.Start(Spec), Spec, 2_000m, T0), Spec, T0));
    }
}
