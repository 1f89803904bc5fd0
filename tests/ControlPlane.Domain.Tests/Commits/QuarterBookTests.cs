using ControlPlane.Domain.Commits;
using CsCheck;

namespace ControlPlane.Domain.Tests.Commits;

public sealed class QuarterBookTests
{
    private static ContractTerms Terms(long commitCents, decimal cap = 100m, int quarters = 4) =>
        new("c1", "acme", new DateOnly(2026, 1, 1), quarters, commitCents, 0m, cap);

    [Fact]
    public void Compute_WorkedExample_RollsOverThenBillsOverage()
    {
        var book = QuarterBook.Compute(Terms(25_000_000), [], [18_000_000, 40_000_000, 0, 0], closedThrough: 2);

        Assert.Equal(7_000_000, book[0].UnusedCents);
        Assert.Equal(7_000_000, book[0].RolloverOutCents);
        Assert.Equal(7_000_000, book[1].RolloverInCents);
        Assert.Equal(32_000_000, book[1].AvailableCents);
        Assert.Equal(32_000_000, book[1].CoveredCents);
        Assert.Equal(8_000_000, book[1].OverageCents);
        Assert.Equal(0, book[1].RolloverOutCents);
        Assert.Equal(25_000_000, book[2].AvailableCents);
        Assert.Equal([true, true, false, false], book.Select(l => l.Closed));
    }

    [Fact]
    public void Compute_HalfCap_RollsHalfOfUnused()
    {
        var book = QuarterBook.Compute(Terms(25_000_000, cap: 50m), [], [18_000_000, 0, 0, 0], closedThrough: 1);

        Assert.Equal(3_500_000, book[1].RolloverInCents);
        Assert.Equal(28_500_000, book[1].AvailableCents);
    }

    [Fact]
    public void Compute_CapOnOddCents_FloorsToTheCent()
    {
        // 3 cents unused at 50% is 1.5 cents: 1 rolls over. 100 cents at 33.3333% is 33.3333: 33.
        var half = QuarterBook.Compute(Terms(103, cap: 50m), [], [100, 0, 0, 0], closedThrough: 1);
        var third = QuarterBook.Compute(Terms(100, cap: 33.3333m), [], [0, 0, 0, 0], closedThrough: 1);

        Assert.Equal(1, half[0].RolloverOutCents);
        Assert.Equal(104, half[1].AvailableCents);
        Assert.Equal(33, third[0].RolloverOutCents);
    }

    [Fact]
    public void Compute_LastQuarter_UnusedExpires()
    {
        var book = QuarterBook.Compute(Terms(1_000, quarters: 2), [], [0, 0], closedThrough: 2);

        Assert.Equal(2_000, book[1].UnusedCents);
        Assert.Equal(0, book[1].RolloverOutCents);
    }

    [Fact]
    public void Compute_TrueUp_RaisesItsQuarterAndEveryLaterOne()
    {
        var book = QuarterBook.Compute(Terms(1_000, cap: 0m), [new TrueUp(500, 2), new TrueUp(100, 4)], [0, 0, 0, 0], closedThrough: 0);

        Assert.Equal([1_000L, 1_500, 1_500, 1_600], book.Select(l => l.CommitCents));
    }

    [Fact]
    public void Compute_AnyUsage_ConservesMoneyInEveryQuarter()
    {
        var trueUp = Gen.Select(Gen.Long[1, 10_000_000], Gen.Int[1, 8]).Select((c, q) => new TrueUp(c, q));
        var cap = Gen.Frequency((1, Gen.Const(0m)), (1, Gen.Const(100m)), (3, Gen.Int[0, 1_000_000].Select(c => c / 10_000m)));
        Gen.Select(Gen.Long[1, 100_000_000], cap, Gen.Long[0, 300_000_000].Array[8], trueUp.Array[0, 4], Gen.Int[1, 8])
            .Sample((commit, rolloverCap, usage, trueUps, quarters) =>
            {
                var terms = Terms(commit, rolloverCap, quarters);
                var book = QuarterBook.Compute(terms, trueUps.Where(t => t.EffectiveQuarter <= quarters).ToList(), usage.Take(quarters).ToList(), 0);
                for (var i = 0; i < book.Count; i++)
                {
                    var l = book[i];
                    var ok = l.UsageCents == l.CoveredCents + l.OverageCents
                        && l.AvailableCents == l.CoveredCents + l.UnusedCents
                        && l.AvailableCents == l.CommitCents + l.RolloverInCents
                        && l.RolloverOutCents <= l.UnusedCents
                        && new[] { l.CommitCents, l.RolloverInCents, l.CoveredCents, l.OverageCents, l.UnusedCents, l.RolloverOutCents }.All(v => v >= 0)
                        && (l.OverageCents == 0 || l.UnusedCents == 0)
                        && l.RolloverInCents == (i == 0 ? 0 : book[i - 1].RolloverOutCents)
                        && (i < book.Count - 1 || l.RolloverOutCents == 0)
                        // floor(unused x cap / 100) with the cap as an integer of ten-thousandths.
                        && (i == book.Count - 1 || l.RolloverOutCents == l.UnusedCents * (long)(rolloverCap * 10_000m) / 1_000_000);
                    if (!ok)
                    {
                        return false;
                    }
                }

                return true;
            });
    }
}
