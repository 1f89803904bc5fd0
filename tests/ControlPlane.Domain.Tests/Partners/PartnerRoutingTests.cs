using ControlPlane.Domain.Partners;
using CsCheck;

namespace ControlPlane.Domain.Tests.Partners;

public sealed class PartnerRoutingTests
{
    private static Partner P(string id, decimal price, decimal capacity, params string[] models) =>
        new(id, models.Length == 0 ? ["m"] : models, price, capacity);

    [Fact]
    public void Split_Overflow_CheapestPartnerFirstEachUpToItsCapacity()
    {
        var shares = PartnerRouting.Split(2_500m, [P("dear", 3m, 10_000m), P("cheap", 1m, 1_000m), P("mid", 2m, 1_000m)]);

        Assert.Equal([new PartnerShare("cheap", 1_000m, 1m), new PartnerShare("mid", 1_000m, 2m), new PartnerShare("dear", 500m, 3m)], shares);
    }

    [Fact]
    public void Split_MoreThanAllPartnersTake_RoutesTheirCapacityOnly()
    {
        var shares = PartnerRouting.Split(5_000m, [P("a", 1m, 1_000m), P("b", 1m, 1_500m)]);

        Assert.Equal(2_500m, shares.Sum(s => s.TokensPerSecond));
    }

    [Fact]
    public void Split_NoOverflow_RoutesNothing()
    {
        Assert.Empty(PartnerRouting.Split(0m, [P("a", 1m, 1_000m)]));
        Assert.Empty(PartnerRouting.Split(-5m, [P("a", 1m, 1_000m)]));
    }

    [Fact]
    public void Split_SamePrice_TiesByPartnerId()
    {
        var shares = PartnerRouting.Split(100m, [P("b", 1m, 1_000m), P("a", 1m, 1_000m)]);

        Assert.Equal("a", Assert.Single(shares).PartnerId);
    }

    [Fact]
    public void Allocate_TwoDeploymentsShareAPartner_NeverOfferItMoreThanItsCapacity()
    {
        var shares = PartnerRouting.Allocate(
            [("s1", "m", 800m), ("s2", "m", 800m), ("s3", "other", 800m)],
            [P("a", 1m, 1_000m, "m", "other"), P("b", 2m, 300m, "m")]);

        Assert.Equal([new PartnerShare("a", 800m, 1m)], shares["s1"]);
        Assert.Equal([new PartnerShare("a", 200m, 1m), new PartnerShare("b", 300m, 2m)], shares["s2"]);
        Assert.False(shares.ContainsKey("s3"));
    }

    [Fact]
    public void UsdPerSecond_IsExact()
    {
        Assert.Equal(0.0025m, new PartnerShare("a", 1_000m, 2.5m).UsdPerSecond);
    }

    private static readonly Gen<Partner[]> Partners =
        Gen.Select(Gen.Int[0, 5_000_000], Gen.Int[1, 5_000_000], Gen.OneOf("m1", "m2").Array[1, 2])
            .Array[0, 6]
            .Select(ps => ps.Select((p, i) => new Partner($"p{i}", p.Item3.Distinct().ToArray(), p.Item1 / 1_000m, p.Item2 / 1_000m)).ToArray());

    [Fact]
    public void Split_AnyOverflow_NeverMoreThanTheOverflowNorAPartnersCapacity()
    {
        Gen.Select(Gen.Int[-1_000, 20_000_000].Select(o => o / 1_000m), Partners).Sample((overflow, partners) =>
        {
            var shares = PartnerRouting.Split(overflow, partners);

            Assert.True(shares.Sum(s => s.TokensPerSecond) <= Math.Max(0m, overflow));
            Assert.All(shares, s => Assert.InRange(s.TokensPerSecond, 0.000001m, partners.Single(p => p.PartnerId == s.PartnerId).CapacityTokensPerSecond));
            // Cheapest first: a dearer partner gets traffic only when every cheaper one is full.
            foreach (var s in shares)
            {
                var price = partners.Single(p => p.PartnerId == s.PartnerId).UsdPer1MTokens;
                Assert.All(partners.Where(p => p.UsdPer1MTokens < price), p => Assert.Equal(p.CapacityTokensPerSecond, shares.Single(x => x.PartnerId == p.PartnerId).TokensPerSecond));
            }

            Assert.Equal(Math.Min(Math.Max(0m, overflow), partners.Sum(p => p.CapacityTokensPerSecond)), shares.Sum(s => s.TokensPerSecond));
        }, iter: 3_000);
    }

    [Fact]
    public void Allocate_AnyOverflows_NoPartnerOverCapacityNoDeploymentOverItsOverflowOnlyItsModel()
    {
        var overflows = Gen.Select(Gen.OneOf("m1", "m2", "m3"), Gen.Int[0, 5_000_000].Select(o => o / 1_000m)).Array[0, 6]
            .Select(os => os.Select((o, i) => ($"s{i}", o.Item1, o.Item2)).ToArray());
        Gen.Select(overflows, Partners).Sample((os, partners) =>
        {
            var shares = PartnerRouting.Allocate(os, partners);

            foreach (var p in partners)
            {
                Assert.True(shares.Values.SelectMany(s => s).Where(s => s.PartnerId == p.PartnerId).Sum(s => s.TokensPerSecond) <= p.CapacityTokensPerSecond);
            }

            foreach (var (id, model, overflow) in os)
            {
                var mine = shares.GetValueOrDefault(id) ?? [];
                Assert.True(mine.Sum(s => s.TokensPerSecond) <= overflow);
                Assert.All(mine, s => Assert.True(partners.Single(p => p.PartnerId == s.PartnerId).Serves(model)));
            }
        }, iter: 3_000);
    }
}
