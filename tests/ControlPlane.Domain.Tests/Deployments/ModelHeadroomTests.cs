using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Tests.Placement;
using CsCheck;

namespace ControlPlane.Domain.Tests.Deployments;

public sealed class ModelHeadroomTests
{
    // Every spec of TestFleet serves 1,000 tokens/s per replica.
    private static ScheduledDeployment Dedicated(string id, int desired, int? awake = 0) =>
        new(TestFleet.Spec(id, reserved: 1, max: 20), desired, 1, awake);

    private static Dictionary<string, DeploymentHeadroom> Told(params (string Id, decimal Demand, int ForDemand, decimal Rise)[] told) =>
        told.ToDictionary(t => t.Id, t => new DeploymentHeadroom(t.Demand, t.ForDemand, t.Rise), StringComparer.Ordinal);

    [Fact]
    public void Awake_TwoDeploymentsOfOneModel_KeepRoomForTheModelsRiseNotForTheSumOfTheirOwn()
    {
        // Each alone would keep 3 replicas above its demand for its own 3,000 tokens/s rise: 6 spare in all.
        var deployments = new[] { Dedicated("a", 8), Dedicated("b", 8) };
        var told = Told(("a", 2_000m, 2, 3_000m), ("b", 2_000m, 2, 3_000m));

        // Their summed demand rose by at most 3,500 tokens/s: 4,000 + 3,500 of capacity is 8 replicas, 4 spare.
        var awake = ModelHeadroom.Awake(deployments, told, new Dictionary<string, decimal> { ["model"] = 3_500m });

        Assert.Equal(8, awake.Values.Sum());
        Assert.Equal((4, 4), (awake["a"], awake["b"]));
    }

    [Fact]
    public void Awake_ModelRiseBelowTheLargestSingleRise_StillCoversThatDeploymentsRiseAlone()
    {
        var deployments = new[] { Dedicated("a", 10), Dedicated("b", 10) };
        var told = Told(("a", 1_000m, 1, 5_000m), ("b", 1_000m, 1, 500m));

        // The model's learned rise is small (a new learner), yet a's own 5,000 tokens/s rise alone must find room.
        var awake = ModelHeadroom.Awake(deployments, told, new Dictionary<string, decimal> { ["model"] = 100m });

        Assert.Equal(2_000m + 5_000m, awake.Values.Sum() * 1_000m);

        // The replicas go where the own rise is least covered: all five to a, none above its demand to b.
        Assert.Equal((6, 1), (awake["a"], awake["b"]));
    }

    [Fact]
    public void Awake_RoomAlreadyRunningOnOneDeployment_StaysThereRatherThanWakingAnothersEngine()
    {
        // b's own rise is the least covered, but a already runs two replicas above its demand: the room stays on them.
        var deployments = new[] { Dedicated("a", 8), Dedicated("b", 8) };
        var told = Told(("a", 2_000m, 2, 1_000m), ("b", 2_000m, 2, 2_000m));
        var placed = new Dictionary<string, int> { ["a"] = 4, ["b"] = 2 };

        var awake = ModelHeadroom.Awake(deployments, told, new Dictionary<string, decimal> { ["model"] = 2_000m }, id => placed[id]);

        Assert.Equal((4, 2), (awake["a"], awake["b"]));

        // Without knowing what runs, the room goes where the own rise is least covered: one to b, then one to a (a tie).
        var unplaced = ModelHeadroom.Awake(deployments, told, new Dictionary<string, decimal> { ["model"] = 2_000m });
        Assert.Equal((3, 3), (unplaced["a"], unplaced["b"]));
    }

    [Fact]
    public void Awake_DeploymentWithAnAwakeCountButNoHeadroomYet_LeavesItsModelUnpooled()
    {
        var deployments = new[] { Dedicated("a", 8), Dedicated("b", 8) };
        var told = Told(("a", 2_000m, 2, 3_000m));

        var awake = ModelHeadroom.Awake(deployments, told, new Dictionary<string, decimal> { ["model"] = 3_000m });

        Assert.Empty(awake);
    }

    [Fact]
    public void Awake_DeploymentWhoseReplicasAllRun_AddsItsSpareToTheModels()
    {
        // b has no awake count: its 6 desired replicas run, 4 of them above its demand, which covers the model's rise.
        var deployments = new[] { Dedicated("a", 8), Dedicated("b", 6, awake: null) };
        var told = Told(("a", 2_000m, 2, 3_000m), ("b", 2_000m, 2, 1_000m));

        var awake = ModelHeadroom.Awake(deployments, told, new Dictionary<string, decimal> { ["model"] = 3_000m });

        Assert.Equal(2, awake["a"]);
        Assert.False(awake.ContainsKey("b"));
    }

    [Fact]
    public void Awake_TargetAboveEveryDesiredCount_GivesEachItsDesiredAndNoMore()
    {
        var deployments = new[] { Dedicated("a", 3), Dedicated("b", 2) };
        var told = Told(("a", 2_000m, 2, 9_000m), ("b", 1_000m, 1, 9_000m));

        var awake = ModelHeadroom.Awake(deployments, told, new Dictionary<string, decimal> { ["model"] = 20_000m });

        Assert.Equal((3, 2), (awake["a"], awake["b"]));
    }

    private static ScheduledDeployment InRegions(string id, int desired, params string[] regions) =>
        new(TestFleet.Spec(id, reserved: 1, max: 20, regions: regions), desired, 1, 0);

    [Fact]
    public void Awake_DeploymentRestrictedToARegion_RoomOnUnrestrictedReplicasDoesNotCoverItsRise()
    {
        // "any" runs 3 replicas above its demand; "eu" (eu only) rises by 2,000 tokens/s and its requests may not go to
        // replicas elsewhere, so it keeps its own room: 2 replicas above its demand, whatever "any" keeps.
        var deployments = new[] { Dedicated("any", 10), InRegions("eu", 10, "eu") };
        var told = Told(("any", 2_000m, 2, 3_000m), ("eu", 1_000m, 1, 2_000m));

        var awake = ModelHeadroom.Awake(deployments, told, new Dictionary<string, decimal>());

        Assert.Equal(3, awake["eu"]);

        // The eu pool's room counts for the model's pool (an unrestricted rise may be served in eu): 3,000 of room in
        // all, 2,000 of it on eu's replicas, so "any" keeps one replica above its demand, not three.
        Assert.Equal(3, awake["any"]);
    }

    [Fact]
    public void PoolOf_AndPoolDemands_ARestrictedPoolHoldsOnlyWhatMustRunInsideIt()
    {
        var any = TestFleet.Spec("any");
        var eu = TestFleet.Spec("eu", regions: ["eu"]);
        var euUs = TestFleet.Spec("eu-us", regions: ["us", "eu", "eu"]);

        Assert.Equal(("model", "model@eu", "model@eu,us"), (ModelHeadroom.PoolOf(any), ModelHeadroom.PoolOf(eu), ModelHeadroom.PoolOf(euUs)));
        var demands = ModelHeadroom.PoolDemands([(any, 100m), (eu, 20m), (euUs, 3m)]);
        Assert.Equal(123m, demands["model"]);
        Assert.Equal(20m, demands["model@eu"]);
        Assert.Equal(23m, demands["model@eu,us"]);
        Assert.Equal(3, demands.Count);
    }

    [Fact]
    public void Awake_Property_EveryRegionalPoolCoveredByWhatRunsInsideItOrAllAtDesired()
    {
        string[]?[] allowLists = [null, ["eu"], ["us"], ["eu", "us"]];
        var rowsGen = Gen.Select(Gen.Int[0, 12], Gen.Int[-1, 14], Gen.Int[0, 12_000], Gen.Int[0, 8_000], Gen.Int[0, allowLists.Length - 1])
            .Select((desired, forDemand, demand, rise, regions) => (desired, forDemand, demand, rise, regions));
        rowsGen.Array[1, 6].Sample(rows =>
        {
            var deployments = rows.Select((r, i) => new ScheduledDeployment(TestFleet.Spec($"d{i}", reserved: 1, max: 20, regions: allowLists[r.regions]), r.desired, 1, 0)).ToArray();
            var told = Told(rows.Select((r, i) => ($"d{i}", (decimal)r.demand, r.forDemand, (decimal)r.rise)).ToArray());
            var awake = ModelHeadroom.Awake(deployments, told, new Dictionary<string, decimal>());

            foreach (var pool in rows.Select(r => allowLists[r.regions]).Distinct())
            {
                // Inside the pool: deployments that may run only in its regions.
                var inside = Enumerable.Range(0, rows.Length)
                    .Where(i => pool is null || (allowLists[rows[i].regions] is { } own && own.All(pool.Contains)))
                    .ToArray();
                var capacity = inside.Sum(i => awake[$"d{i}"] * 1_000m);
                var target = inside.Sum(i => (decimal)rows[i].demand) + inside.Max(i => (decimal)rows[i].rise);
                Assert.True(capacity >= target || inside.All(i => awake[$"d{i}"] == deployments[i].Desired), $"pool {string.Join(',', pool ?? ["*"])}: {capacity} < {target}");
            }
        }, iter: 2_000);
    }

    [Fact]
    public void Awake_Property_EachBetweenWhatItsDemandNeedsAndItsDesiredAndTheModelCoveredOrAllAtDesired()
    {
        var rowsGen = Gen.Select(Gen.Int[0, 12], Gen.Int[-1, 14], Gen.Int[0, 12_000], Gen.Int[0, 8_000], Gen.Frequency((2, Gen.Const(true)), (1, Gen.Const(false))))
            .Select((desired, forDemand, demand, rise, sleeps) => (desired, forDemand, demand, rise, sleeps));
        Gen.Select(rowsGen.Array[1, 5], Gen.Int[0, 10_000]).Sample((rows, modelRise) =>
        {
            var deployments = rows.Select((r, i) => Dedicated($"d{i}", r.desired, r.sleeps ? 0 : null)).ToArray();
            var told = Told(rows.Select((r, i) => ($"d{i}", (decimal)r.demand, r.forDemand, (decimal)r.rise)).ToArray());
            var awake = ModelHeadroom.Awake(deployments, told, new Dictionary<string, decimal> { ["model"] = modelRise });

            var sleeping = deployments.Where(d => d.Awake is not null).ToArray();
            Assert.Equal(sleeping.Length, awake.Count);
            var capacity = 0m;
            for (var i = 0; i < rows.Length; i++)
            {
                var d = deployments[i];
                if (d.Awake is null)
                {
                    capacity += d.Desired * 1_000m;
                    continue;
                }

                var given = awake[d.Spec.DeploymentId];
                Assert.InRange(given, Math.Clamp(rows[i].forDemand, 0, d.Desired), d.Desired);
                capacity += given * 1_000m;
            }

            var target = rows.Sum(r => (decimal)r.demand) + Math.Max(modelRise, rows.Max(r => (decimal)r.rise));
            Assert.True(capacity >= target || sleeping.All(d => awake[d.Spec.DeploymentId] == d.Desired), $"capacity {capacity} < {target}");

            // No replica more than needed: one fewer on any deployment above its floor would leave the target uncovered.
            for (var i = 0; i < rows.Length; i++)
            {
                var d = deployments[i];
                if (d.Awake is not null && awake[d.Spec.DeploymentId] > Math.Clamp(rows[i].forDemand, 0, d.Desired))
                {
                    Assert.True(capacity - 1_000m < target, $"{d.Spec.DeploymentId} holds a replica the model does not need");
                }
            }
        }, iter: 2_000);
    }

    [Fact]
    public void ModelRises_SummedDemandRisingWithinTheDelay_LearnsTheRiseAndForgetsAModel()
    {
        var rises = new ModelRises(TimeSpan.FromMinutes(5));
        var t0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(0m, rises.Observe("m", 1_000m, t0));
        var rise = rises.Observe("m", 4_000m, t0.AddSeconds(30));
        Assert.True(rise >= 3_000m, $"learned {rise}");
        Assert.True(rises.QuickRises.ContainsKey("m"));

        Assert.True(rises.Forget("m"));
        Assert.Empty(rises.QuickRises);
    }
}
