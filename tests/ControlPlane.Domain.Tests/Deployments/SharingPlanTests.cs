using CsCheck;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Partners;

namespace ControlPlane.Domain.Tests.Deployments;

public sealed class SharingPlanTests
{
    // Dedicated: 2 ready x 1000, demand 500 -> 1500 spare. Serverless: 1 ready x 1000, demand 4000 -> 3000 unmet,
    // 1500 on slack, 1500 to partners: 1000 to the cheap one (its capacity), 500 to the dear one.
    private static readonly ModelDemand[] Deployments =
    [
        new("ded", "m", DeploymentClass.Dedicated, 500m, 2, 1_000m),
        new("sls", "m", DeploymentClass.Serverless, 4_000m, 1, 1_000m),
        new("other", "n", DeploymentClass.Dedicated, 0m, 1, 1_000m),
    ];

    private static readonly RoutableReplica[] Replicas =
    [
        new("ded", "ded-0", "n1"), new("ded", "ded-1", "n2"), new("sls", "sls-0", "n3"), new("other", "other-0", "n4"),
    ];

    private static readonly Partner[] Partners =
    [
        new("dear", ["m"], 2m, 10_000m), new("cheap", ["m", "n"], 1m, 1_000m), new("elsewhere", ["n"], 0.5m, 10_000m),
    ];

    [Fact]
    public void RoutesOf_Serverless_OwnReplicasThenDedicatedSlackThenPartners()
    {
        var routes = SharingPlan.Compute(Deployments, Partners).RoutesOf("sls", Replicas);

        Assert.Equal(
        [
            new WeightedRoute(RouteKind.Replica, "sls", "sls-0", "n3", null, 0.25m, 1_000m),
            new WeightedRoute(RouteKind.DedicatedSlack, "ded", "ded-0", "n1", null, 0.1875m, 750m),
            new WeightedRoute(RouteKind.DedicatedSlack, "ded", "ded-1", "n2", null, 0.1875m, 750m),
            new WeightedRoute(RouteKind.Partner, null, null, null, "cheap", 0.25m, 1_000m),
            new WeightedRoute(RouteKind.Partner, null, null, null, "dear", 0.125m, 500m),
        ], routes);
    }

    [Fact]
    public void RoutesOf_ServerlessRestrictedToARegion_OnlyTheDedicatedReplicasThere()
    {
        // The dedicated deployment runs one replica in eu and one in us, 1,500 spare; the serverless one may be served in
        // eu only: it gets the 750 of spare in eu, on the eu replica, and nothing on the us one.
        ModelDemand[] deployments =
        [
            new("ded", "m", DeploymentClass.Dedicated, 500m, 2, 1_000m, ReadyInRegions: [new("eu", 1), new("us", 1)]),
            new("sls", "m", DeploymentClass.Serverless, 4_000m, 1, 1_000m, Regions: ["eu"], ReadyInRegions: [new("eu", 1)]),
        ];
        RoutableReplica[] replicas = [new("ded", "ded-0", "n1", "eu"), new("ded", "ded-1", "n2", "us"), new("sls", "sls-0", "n3", "eu")];

        var routes = SharingPlan.Compute(deployments, []).RoutesOf("sls", replicas);

        Assert.Equal(
        [
            new WeightedRoute(RouteKind.Replica, "sls", "sls-0", "n3", null, 0.571429m, 1_000m),
            new WeightedRoute(RouteKind.DedicatedSlack, "ded", "ded-0", "n1", null, 0.428571m, 750m),
        ], routes);
    }

    [Fact]
    public void RoutesOf_Dedicated_OnlyItsOwnReplicas()
    {
        var routes = SharingPlan.Compute(Deployments, Partners).RoutesOf("ded", Replicas);

        Assert.Equal([new WeightedRoute(RouteKind.Replica, "ded", "ded-0", "n1", null, 0.5m, 1_000m), new WeightedRoute(RouteKind.Replica, "ded", "ded-1", "n2", null, 0.5m, 1_000m)], routes);
    }

    [Fact]
    public void RoutesOf_BatchBeyondSlack_NoPartnerRoutes()
    {
        var plan = SharingPlan.Compute([Deployments[0], new("batch", "m", DeploymentClass.Batch, 9_000m, 0, 1_000m)], Partners);

        var routes = plan.RoutesOf("batch", Replicas);

        Assert.All(routes, r => Assert.Equal(RouteKind.DedicatedSlack, r.Kind));
        Assert.Equal(1_500m, routes.Sum(r => r.TokensPerSecond));
        Assert.Equal(1_500m, plan.SlackTokens(DeploymentClass.Batch));
        Assert.Equal(0m, plan.PartnerTokens(DeploymentClass.Batch));
    }

    [Fact]
    public void Totals_ByClass()
    {
        var plan = SharingPlan.Compute(Deployments, Partners);

        Assert.Equal(1_500m, plan.SlackTokens(DeploymentClass.Serverless));
        Assert.Equal(1_500m, plan.PartnerTokens(DeploymentClass.Serverless));
    }

    [Fact]
    public void RoutesOf_UnknownDeployment_Empty() =>
        Assert.Empty(SharingPlan.Compute(Deployments, Partners).RoutesOf("nope", Replicas));

    [Fact]
    public void DependenciesOf_AnyFleet_ComputeOverThemGivesTheRoutesComputedOverAll()
    {
        var deployments = Gen.Select(
                Gen.Enum<DeploymentClass>(),
                Gen.OneOf("m1", "m2", "m3", "m4"),
                Gen.Int[0, 20_000].Select(d => (decimal)d),
                Gen.Int[0, 6],
                Gen.Int[1, 5_000].Select(t => (decimal)t))
            .Array[1, 10]
            .Select(ds => ds.Select((d, i) => new ModelDemand($"d{i}", d.Item2, d.Item1, d.Item3, d.Item4, d.Item5)).ToArray());
        var partners = Gen.Select(Gen.OneOf("m1", "m2", "m3", "m4").Array[1, 3], Gen.Int[1, 9], Gen.Int[1, 10_000])
            .Array[0, 4]
            .Select(ps => ps.Select((p, i) => new Partner($"p{i}", p.Item1.Distinct().ToArray(), p.Item2, p.Item3)).ToArray());

        Gen.Select(deployments, partners).Sample((fleet, partnerList) =>
        {
            var replicas = fleet.SelectMany(d => Enumerable.Range(0, d.ReadyReplicas).Select(i => new RoutableReplica(d.DeploymentId, $"{d.DeploymentId}-{i}", $"n{i}"))).ToArray();
            var all = SharingPlan.Compute(fleet, partnerList);
            foreach (var d in fleet)
            {
                var dependencies = SharingPlan.DependenciesOf(d.DeploymentId, fleet);
                Assert.Equal(all.RoutesOf(d.DeploymentId, replicas), SharingPlan.Compute(dependencies, partnerList).RoutesOf(d.DeploymentId, replicas));
            }
        });
        Assert.Empty(SharingPlan.DependenciesOf("unknown", Deployments));
    }
}
