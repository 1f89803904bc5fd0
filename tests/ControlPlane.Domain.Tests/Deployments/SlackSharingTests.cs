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
    public void Allocate_AnyDemand_NeverLendsMoreThanTheSpareNorGivesMoreThanTheUnmetDemand()
    {
        Deployments.Sample(deployments =>
        {
            var allocation = SlackSharing.Allocate(deployments);
            var byId = deployments.ToDictionary(d => d.DeploymentId);

            foreach (var grant in allocation.Grants)
            {
                var lender = byId[grant.DedicatedDeploymentId];
                var borrower = byId[grant.SharedDeploymentId];
                Assert.True(grant.TokensPerSecond > 0);
                Assert.Equal(DeploymentClass.Dedicated, lender.Class);
                Assert.NotEqual(DeploymentClass.Dedicated, borrower.Class);
                Assert.Equal(lender.Model, borrower.Model);
                Assert.Equal(grant.TokensPerSecond, SlackSharing.Floor(grant.TokensPerSecond));
            }

            foreach (var d in deployments)
            {
                if (d.Class == DeploymentClass.Dedicated)
                {
                    Assert.True(allocation.LentBy(d.DeploymentId) <= d.Spare, $"{d.DeploymentId} lent more than its spare");
                    // Dedicated requests are never queued behind shared ones: its own demand plus what it carries
                    // for others fits its ready capacity, or it carries nothing.
                    var carried = allocation.LentBy(d.DeploymentId);
                    Assert.True(carried == 0 || d.Demand + carried <= d.ReadyCapacity);
                    Assert.Equal(0m, allocation.TokensFor(d.DeploymentId));
                }
                else
                {
                    Assert.True(allocation.TokensFor(d.DeploymentId) <= d.Unmet, $"{d.DeploymentId} got more than its unmet demand");
                    Assert.Equal(0m, allocation.LentBy(d.DeploymentId));
                }
            }
        }, iter: 5_000);
    }

    [Fact]
    public void Allocate_AnyDemand_BatchGetsSlackOnlyWhenServerlessOfItsModelIsServedUpToRounding()
    {
        Deployments.Sample(deployments =>
        {
            var allocation = SlackSharing.Allocate(deployments);
            foreach (var model in deployments.GroupBy(d => d.Model))
            {
                var batchGot = model.Where(d => d.Class == DeploymentClass.Batch).Sum(d => allocation.TokensFor(d.DeploymentId));
                if (batchGot == 0)
                {
                    continue;
                }

                // Every serverless deployment of the model got its unmet demand, less at most the rounding of its shares.
                var lenders = model.Count(d => d.Class == DeploymentClass.Dedicated);
                foreach (var s in model.Where(d => d.Class == DeploymentClass.Serverless))
                {
                    Assert.True(s.Unmet - allocation.TokensFor(s.DeploymentId) <= lenders * 0.001m, $"{s.DeploymentId} left short while batch borrowed");
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
}
