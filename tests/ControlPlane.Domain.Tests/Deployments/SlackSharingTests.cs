using ControlPlane.Domain.Deployments;
using CsCheck;

namespace ControlPlane.Domain.Tests.Deployments;

public sealed class SlackSharingTests
{
    private static ModelDemand Dedicated(string id, decimal demand, int ready, decimal perReplica = 1_000m, string model = "m") =>
        new(id, model, DeploymentClass.Dedicated, demand, ready, perReplica);

    private static ModelDemand Serverless(string id, decimal demand, int ready, decimal perReplica = 1_000m, string model = "m") =>
        new(id, model, DeploymentClass.Serverless, demand, ready, perReplica);

    private static ModelDemand Batch(string id, decimal demand, int ready, decimal perReplica = 1_000m, string model = "m") =>
        new(id, model, DeploymentClass.Batch, demand, ready, perReplica);

    [Fact]
    public void Allocate_SpareCoversUnmetDemand_GrantsExactlyTheUnmetDemand()
    {
        // 4 ready x 1000 = 4000, demand 1500: 2500 spare. Serverless: 3000 demand, 2 ready: 1000 unmet.
        var allocation = SlackSharing.Allocate([Dedicated("ded", 1_500m, 4), Serverless("sls", 3_000m, 2)]);

        var grant = Assert.Single(allocation.Grants);
        Assert.Equal(new SlackGrant("sls", "ded", 1_000m), grant);
        Assert.Equal(1_000m, allocation.TokensFor("sls"));
        Assert.Equal(1_000m, allocation.LentBy("ded"));
    }

    [Fact]
    public void Allocate_SpareShort_ServerlessBeforeBatchInProportionToUnmetDemand()
    {
        // 1200 spare; serverless a needs 900 and b 300 (1200 together): all of it, nothing for batch.
        var allocation = SlackSharing.Allocate([
            Dedicated("ded", 2_800m, 4), Serverless("a", 900m, 0), Serverless("b", 1_300m, 1), Batch("batch", 5_000m, 0)]);

        Assert.Equal(900m, allocation.TokensFor("a"));
        Assert.Equal(300m, allocation.TokensFor("b"));
        Assert.Equal(0m, allocation.TokensFor("batch"));
    }

    [Fact]
    public void Allocate_DedicatedRise_TakesBatchThenServerlessSpareThenOtherDedicatedSpare()
    {
        // "rising" needs 3,500 beyond its 2 ready replicas. Batch has 1 replica (1,000), serverless 2 ready for 1,200 of
        // demand (800 spare), the other customer 3 ready for 1,000 (2,000 spare): 1,000 + 800 + 1,700.
        var allocation = SlackSharing.Allocate([
            Dedicated("rising", 5_500m, 2), Dedicated("other", 1_000m, 3), Serverless("sls", 1_200m, 2), Batch("batch", 9_000m, 1)]);

        Assert.Equal(3_500m, allocation.TokensFor("rising"));
        Assert.Equal(
            [new SlackGrant("rising", "batch", 1_000m), new SlackGrant("rising", "sls", 800m), new SlackGrant("rising", "other", 1_700m)],
            allocation.GrantsTo("rising"));

        // Nothing displaced: serverless still serves its own 1,200 on its replicas, the other customer its 1,000; the
        // other customer's last 300 of spare goes to batch.
        Assert.Equal(0m, allocation.TokensFor("sls"));
        Assert.Equal([new SlackGrant("batch", "other", 300m)], allocation.GrantsTo("batch"));
    }

    [Fact]
    public void Allocate_ServerlessOverflow_TakesDedicatedSpareThenBatchReplicasLeftAfterADedicatedRise()
    {
        // Serverless needs 3,000 beyond its 1 ready replica. The dedicated deployment "steady" has 500 spare; "rising"
        // needs 1,000 beyond its replicas and takes that much of batch's 2,500 first; serverless gets the 500 spare
        // and 1,500 of batch (what the rise left), 1,000 short. Batch serves nothing of its own backlog.
        var allocation = SlackSharing.Allocate([
            Dedicated("steady", 1_500m, 2), Dedicated("rising", 3_000m, 2), Serverless("sls", 4_000m, 1), Batch("batch", 9_000m, 2, perReplica: 1_250m)]);

        Assert.Equal([new SlackGrant("rising", "batch", 1_000m)], allocation.GrantsTo("rising"));
        Assert.Equal([new SlackGrant("sls", "steady", 500m), new SlackGrant("sls", "batch", 1_500m)], allocation.GrantsTo("sls"));
        Assert.Equal(2_500m, allocation.LentBy("batch"));
        Assert.Equal(0m, allocation.TokensFor("batch"));
    }

    [Fact]
    public void Allocate_DedicatedRiseBeyondEveryRoom_TakesAllOfItAndNoMore()
    {
        // 10,000 beyond its ready replica; the model has 1,000 of batch and 500 of serverless spare.
        var allocation = SlackSharing.Allocate([Dedicated("rising", 11_000m, 1), Serverless("sls", 1_500m, 2), Batch("batch", 9_000m, 1)]);

        Assert.Equal(1_500m, allocation.TokensFor("rising"));
        Assert.Equal(0m, allocation.TokensFor("sls"));
    }

    [Fact]
    public void Allocate_SpareShortOfServerless_SharesItInProportion()
    {
        // 1000 spare; a needs 3000, b 1000: a gets 750, b 250.
        var allocation = SlackSharing.Allocate([Dedicated("ded", 0m, 1), Serverless("a", 3_000m, 0), Serverless("b", 1_000m, 0)]);

        Assert.Equal(750m, allocation.TokensFor("a"));
        Assert.Equal(250m, allocation.TokensFor("b"));
    }

    [Fact]
    public void Allocate_SpareLeftAfterServerless_GoesToBatch()
    {
        var allocation = SlackSharing.Allocate([Dedicated("ded", 500m, 2), Serverless("sls", 700m, 0), Batch("batch", 5_000m, 0)]);

        Assert.Equal(700m, allocation.TokensFor("sls"));
        Assert.Equal(800m, allocation.TokensFor("batch"));
        Assert.Equal(1_500m, allocation.LentBy("ded"));
    }

    [Fact]
    public void Allocate_TwoLenders_SpreadsAGrantInProportionToTheirSpare()
    {
        // Spare 3000 and 1000; serverless needs 2000: 1500 and 500.
        var allocation = SlackSharing.Allocate([Dedicated("d1", 1_000m, 4), Dedicated("d2", 0m, 1), Serverless("sls", 2_000m, 0)]);

        Assert.Equal([new SlackGrant("sls", "d1", 1_500m), new SlackGrant("sls", "d2", 500m)], allocation.GrantsTo("sls"));
    }

    [Fact]
    public void Allocate_DedicatedDemandAtOrAboveCapacity_LendsNothing()
    {
        var allocation = SlackSharing.Allocate([Dedicated("ded", 4_000m, 4), Serverless("sls", 9_000m, 0)]);

        Assert.Empty(allocation.Grants);
    }

    [Fact]
    public void Allocate_OtherModel_GetsNoSlack()
    {
        var allocation = SlackSharing.Allocate([Dedicated("ded", 0m, 4, model: "llama"), Serverless("sls", 9_000m, 0, model: "qwen")]);

        Assert.Empty(allocation.Grants);
    }

    [Fact]
    public void Allocate_ShareWithManyDecimals_RoundsDownNeverPastTheSpare()
    {
        // 1000 spare split three ways: 333.333 each, never 333.334.
        var allocation = SlackSharing.Allocate([
            Dedicated("ded", 0m, 1), Serverless("a", 1_000m, 0), Serverless("b", 1_000m, 0), Serverless("c", 1_000m, 0)]);

        Assert.All(allocation.Grants, g => Assert.Equal(333.333m, g.TokensPerSecond));
        Assert.True(allocation.LentBy("ded") <= 1_000m);
    }

    private static readonly Gen<ModelDemand[]> Deployments =
        Gen.Select(
                Gen.Enum<DeploymentClass>(),
                Gen.OneOf("m1", "m2", "m3"),
                Gen.Frequency((1, Gen.Const(0m)), (6, Gen.Int[0, 20_000].Select(d => (decimal)d)), (2, Gen.Int[0, 20_000_000].Select(d => d / 1_000m))),
                Gen.Int[0, 8],
                Gen.Frequency((3, Gen.Int[1, 5_000].Select(t => (decimal)t)), (1, Gen.Int[1, 5_000_000].Select(t => t / 1_000m))))
            .Array[0, 10]
            .Select(ds => ds.Select((d, i) => new ModelDemand($"d{i}", d.Item2, d.Item1, d.Item3, d.Item4, d.Item5)).ToArray());

    [Fact]
    public void Allocate_BorrowerRestrictedToARegion_TakesOnlyTheLendersSpareThere()
    {
        // 4 ready, 2 in each region, no demand: 4,000 spare, 2,000 in each. An eu-only serverless deployment missing
        // 3,000 is lent the 2,000 in eu and nothing in us, though the us spare idles.
        var lender = Dedicated("ded", 0m, 4) with { ReadyInRegions = [new("eu", 2), new("us", 2)] };
        var allocation = SlackSharing.Allocate([lender, Serverless("sls", 3_000m, 0) with { Regions = ["eu"] }]);

        Assert.Equal([new SlackGrant("sls", "ded", 2_000m, "eu")], allocation.Grants);

        // Unrestricted, it takes both regions' spare in proportion.
        var anywhere = SlackSharing.Allocate([lender, Serverless("sls", 3_000m, 0)]);
        Assert.Equal([new SlackGrant("sls", "ded", 1_500m, "eu"), new SlackGrant("sls", "ded", 1_500m, "us")], anywhere.Grants);
    }

    [Fact]
    public void Allocate_RestrictedAndUnrestrictedBorrowers_TheRestrictedOneServedFirstOnItsRegion()
    {
        // 2,000 spare in eu and 2,000 in us; an eu-only and an unrestricted serverless deployment each miss 2,000. Shared in
        // proportion, the eu-only one would get 1,000 in eu and wait; served first on its region, both are served in full.
        var lender = Dedicated("ded", 0m, 4) with { ReadyInRegions = [new("eu", 2), new("us", 2)] };
        var allocation = SlackSharing.Allocate([lender, Serverless("a-eu", 2_000m, 0) with { Regions = ["eu"] }, Serverless("b-any", 2_000m, 0)]);

        Assert.Equal(2_000m, allocation.TokensFor("a-eu"));
        Assert.Equal(2_000m, allocation.TokensFor("b-any"));
        Assert.All(allocation.GrantsTo("a-eu"), g => Assert.Equal("eu", g.Region));
    }

    [Fact]
    public void Allocate_DedicatedRiseRestrictedToARegion_NeverRoutedToBatchReplicasElsewhere()
    {
        // A dedicated eu-only deployment misses 1,500; batch of its model runs 1 replica in us and 1 in eu.
        var allocation = SlackSharing.Allocate(
        [
            Dedicated("ded", 2_500m, 1) with { Regions = ["eu"], ReadyInRegions = [new("eu", 1)] },
            Batch("batch", 0m, 2) with { ReadyInRegions = [new("eu", 1), new("us", 1)] },
        ]);

        Assert.Equal([new SlackGrant("ded", "batch", 1_000m, "eu")], allocation.Grants);
    }

    [Fact]
    public void ScalingDemand_ServerlessRestrictedToARegion_CountsOnlyTheSpareThere()
    {
        // 2,000 spare in eu and 2,000 in us: an eu-only serverless deployment with 3,000 demand scales on 1,000.
        var scaling = SlackSharing.ScalingDemand(
        [
            Dedicated("ded", 0m, 4) with { ReadyInRegions = [new("eu", 2), new("us", 2)] },
            Serverless("sls", 3_000m, 0) with { Regions = ["eu"] },
        ]);

        Assert.Equal(1_000m, scaling["sls"]);
    }

    private static readonly string[][] AllowLists = [["eu"], ["us"], ["eu", "us"]];

    /// <summary>Deployments of <see cref="Deployments"/> with regions: an allow list or none, and ready replicas spread over what it allows.</summary>
    private static readonly Gen<ModelDemand[]> RegionalDeployments =
        Deployments.SelectMany(ds => Gen.Select(Gen.Int[0, AllowLists.Length], Gen.Int[0, 8]).Array[ds.Length].Select(rs => ds.Select((d, i) =>
        {
            var regions = rs[i].Item1 == AllowLists.Length ? null : AllowLists[rs[i].Item1];
            var open = regions ?? ["eu", "us"];
            var inFirst = open.Length == 1 ? d.ReadyReplicas : Math.Min(rs[i].Item2, d.ReadyReplicas);
            RegionReplicas[] ready = open.Length == 1
                ? [new(open[0], d.ReadyReplicas)]
                : [new(open[0], inFirst), new(open[1], d.ReadyReplicas - inFirst)];
            return d with { Regions = regions, ReadyInRegions = ready };
        }).ToArray()));

    [Fact]
    public void Allocate_AnyRegions_NoRequestLeavesItsRegionsAndNoRegionLendsMoreThanItsShare()
    {
        RegionalDeployments.Sample(deployments =>
        {
            var allocation = SlackSharing.Allocate(deployments);
            var byId = deployments.ToDictionary(d => d.DeploymentId);
            foreach (var grant in allocation.Grants)
            {
                var lender = byId[grant.LenderId];
                var borrower = byId[grant.BorrowerId];
                Assert.NotNull(grant.Region);
                Assert.True(borrower.MayBeServedIn(grant.Region), $"{borrower.DeploymentId} served in {grant.Region}");
                Assert.Contains(lender.ReadyInRegions!, r => r.Region == grant.Region && r.Replicas > 0);
            }

            foreach (var d in deployments)
            {
                Assert.True(allocation.TokensFor(d.DeploymentId) <= d.Unmet, $"{d.DeploymentId} got more than its unmet demand");
                var room = d.Class switch
                {
                    DeploymentClass.Dedicated => d.Spare,
                    DeploymentClass.Serverless => d.SpareForBatch,
                    _ => d.ReadyCapacity,
                };
                foreach (var (region, share) in d.RoomByRegion(room))
                {
                    var lent = allocation.Grants.Where(g => g.LenderId == d.DeploymentId && g.Region == region).Sum(g => g.TokensPerSecond);
                    Assert.True(lent <= share, $"{d.DeploymentId} lent {lent} in {region}, more than its {share}");
                }
            }
        }, iter: 3_000);
    }

    [Fact]
    public void Allocate_AnyDemand_NeverLendsMoreThanTheRoomNorGivesMoreThanTheUnmetDemand()
    {
        Deployments.Sample(deployments =>
        {
            var allocation = SlackSharing.Allocate(deployments);
            var byId = deployments.ToDictionary(d => d.DeploymentId);

            foreach (var grant in allocation.Grants)
            {
                var lender = byId[grant.LenderId];
                var borrower = byId[grant.BorrowerId];
                Assert.True(grant.TokensPerSecond > 0);
                Assert.NotEqual(lender.DeploymentId, borrower.DeploymentId);
                Assert.Equal(lender.Model, borrower.Model);
                Assert.Equal(grant.TokensPerSecond, SlackSharing.Floor(grant.TokensPerSecond));

                // Who may lend to whom: dedicated overflow takes batch, serverless spare and other dedicated spare;
                // serverless takes dedicated spare and batch replicas; batch takes any spare. Nobody borrows from a
                // deployment of a higher class than its own but dedicated.
                switch (borrower.Class)
                {
                    case DeploymentClass.Serverless:
                        Assert.NotEqual(DeploymentClass.Serverless, lender.Class);
                        break;
                    case DeploymentClass.Batch:
                        Assert.NotEqual(DeploymentClass.Batch, lender.Class);
                        break;
                }
            }

            foreach (var d in deployments)
            {
                var lent = allocation.LentBy(d.DeploymentId);
                Assert.True(allocation.TokensFor(d.DeploymentId) <= d.Unmet, $"{d.DeploymentId} got more than its unmet demand");
                switch (d.Class)
                {
                    case DeploymentClass.Dedicated:
                        // Dedicated requests are never queued behind others: its own demand plus what it carries for
                        // others fits its ready capacity, or it carries nothing.
                        Assert.True(lent <= d.Spare, $"{d.DeploymentId} lent more than its spare");
                        Assert.True(lent == 0 || d.Demand + lent <= d.ReadyCapacity);
                        break;
                    case DeploymentClass.Serverless:
                        // Serverless requests on its own replicas are never displaced.
                        Assert.True(lent == 0 || d.Demand + lent <= d.ReadyCapacity, $"{d.DeploymentId} lent past its own demand");
                        break;
                    default:
                        Assert.True(lent <= d.ReadyCapacity);
                        break;
                }
            }
        }, iter: 5_000);
    }

    [Fact]
    public void Allocate_AnyDemand_NoRoomIdlesWhileADeploymentOfItsModelWaitsUpToRounding()
    {
        Deployments.Sample(deployments =>
        {
            var allocation = SlackSharing.Allocate(deployments);
            foreach (var model in deployments.GroupBy(d => d.Model))
            {
                // Each share rounds down by less than a thousandth; at most one per borrower and lender, per round.
                var tolerance = model.Count() * model.Count() * 3 * 0.001m;
                decimal Left(ModelDemand d) => d.Unmet - allocation.TokensFor(d.DeploymentId);
                decimal Room(ModelDemand d, decimal room) => room - allocation.LentBy(d.DeploymentId);

                if (model.Any(d => d.Class == DeploymentClass.Dedicated && Left(d) > tolerance))
                {
                    // A dedicated deployment still waits: every batch replica, serverless spare and dedicated spare of its model is in use.
                    Assert.All(model.Where(d => d.Class == DeploymentClass.Batch), b => Assert.True(Room(b, b.ReadyCapacity) <= tolerance, $"{b.DeploymentId} kept room"));
                    Assert.All(model.Where(d => d.Class == DeploymentClass.Serverless), s => Assert.True(Room(s, s.SpareForBatch) <= tolerance, $"{s.DeploymentId} kept room"));
                    Assert.All(model.Where(d => d.Class == DeploymentClass.Dedicated), x => Assert.True(Room(x, x.Spare) <= tolerance, $"{x.DeploymentId} kept room"));
                }

                if (model.Any(d => d.Class == DeploymentClass.Serverless && Left(d) > tolerance))
                {
                    // Serverless still waits: every dedicated spare and every batch replica of its model is in use.
                    Assert.All(model.Where(d => d.Class == DeploymentClass.Dedicated), x => Assert.True(Room(x, x.Spare) <= tolerance, $"{x.DeploymentId} kept spare while serverless waited"));
                    Assert.All(model.Where(d => d.Class == DeploymentClass.Batch), b => Assert.True(Room(b, b.ReadyCapacity) <= tolerance, $"{b.DeploymentId} kept room while serverless waited"));
                }
            }
        }, iter: 5_000);
    }

    [Fact]
    public void Allocate_AnyDemand_HandsOutTheSpareOrServesTheUnmetDemandUpToRounding()
    {
        Deployments.Sample(deployments =>
        {
            var allocation = SlackSharing.Allocate(deployments);
            foreach (var model in deployments.GroupBy(d => d.Model))
            {
                var spare = model.Sum(d => d.Spare);
                var unmet = model.Where(d => d.Class != DeploymentClass.Dedicated).Sum(d => d.Unmet);
                var handed = model.Sum(d => allocation.LentBy(d.DeploymentId));
                // Each share rounds down by less than a thousandth, and there are at most borrowers x lenders of them,
                // plus one per borrower for its proportional part of a short pool.
                var shares = (model.Count(d => d.Class != DeploymentClass.Dedicated) * (model.Count(d => d.Class == DeploymentClass.Dedicated) + 1)) + 1;
                Assert.True(handed >= Math.Min(spare, unmet) - (shares * 0.001m), $"{model.Key}: handed {handed} of spare {spare} for unmet {unmet}");
            }
        }, iter: 5_000);
    }

    [Fact]
    public void ScalingDemand_ServerlessCountsOnDedicatedSpareLessWhatItKeepsForItsOwnRises()
    {
        // 4 ready x 1000 = 4000, demand 1500: 2500 spare, of which 1000 are kept for the dedicated deployment's own quick rises.
        var scaling = SlackSharing.ScalingDemand([Dedicated("ded", 1_500m, 4) with { KeptForRises = 1_000m }, Serverless("sls", 3_000m, 2)]);

        Assert.Equal(1_500m, scaling["sls"]);
        Assert.Equal(500m, SlackSharing.ScalingDemand([Dedicated("ded", 1_500m, 4), Serverless("sls", 3_000m, 2)])["sls"]);
    }

    [Fact]
    public void ScalingDemand_KeptForRisesAboveTheSpare_CountsNothingAndRoutesStillLendTheSpare()
    {
        var deployments = new[] { Dedicated("ded", 1_500m, 4) with { KeptForRises = 9_000m }, Serverless("sls", 3_000m, 2) };

        Assert.Equal(3_000m, SlackSharing.ScalingDemand(deployments)["sls"]);
        Assert.Equal(1_000m, SlackSharing.Allocate(deployments).TokensFor("sls"));
    }
}
