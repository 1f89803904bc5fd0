using ControlPlane.Simulator.Simulation;
using ControlPlane.Testing;

namespace ControlPlane.Simulator.Tests.Simulation;

/// <summary>
/// A whole simulated day of each shipped fleet with the shipped trace, every policy: what the liquid policy must reach
/// (issue 10), checked on the honest measures. <c>docs/simulator.md</c> records the same runs with their figures.
/// </summary>
public sealed class ShippedFleetTests
{
    private static SimulationReport Day(string fleet, int seed = 1) =>
        SimulateCommand.Simulate(
            FleetFileLoader.Load(RepoPaths.Combine("deploy", "sim", $"fleet-{fleet}.json")),
            $"fleet-{fleet}.json",
            [SimulationInputs.AzureTrace],
            SimulationInputs.All,
            new SimulationSettings(24, 60, seed));

    /// <summary>
    /// Every target of issue 10, the distance to the oracle included (0.58 points; the oracle spills fifty times the
    /// serverless demand liquid does, so part of its lead is demand liquid serves).
    /// </summary>
    [Fact]
    public void Simulate_Fleet1kDay_LiquidReachesTheServiceUtilizationSpillAndMarginTargetsOnTheHonestMeasures()
    {
        var report = Day("1k");
        var (liquid, fixedSilos, oracle) = (report.Policies["liquid"], report.Policies["static"], report.Policies["oracle"]);

        Assert.True(liquid.Utilization >= 0.95, $"utilization {liquid.Utilization}");
        Assert.True(liquid.DedicatedServedShare >= 0.999, $"dedicated served {liquid.DedicatedServedShare}");
        Assert.True(liquid.ReservedServedShare >= 0.9999, $"reserved served {liquid.ReservedServedShare}");
        Assert.True(liquid.ServedTokens.Dedicated >= fixedSilos.ServedTokens.Dedicated, "liquid served fewer dedicated tokens than fixed silos");
        Assert.True(liquid.SpilledSharedTokens <= fixedSilos.SpilledSharedTokens, $"liquid spilled {liquid.SpilledSharedTokens}, static {fixedSilos.SpilledSharedTokens}");
        Assert.True(liquid.MarginUsd > fixedSilos.MarginUsd, $"margin {liquid.MarginUsd} against {fixedSilos.MarginUsd}");
        Assert.True(oracle.Utilization - liquid.Utilization <= 0.02, $"oracle {oracle.Utilization}, liquid {liquid.Utilization}");
        Assert.Equal(report.LiquidToOracle!.UtilizationPoints, Math.Round((oracle.Utilization - liquid.Utilization) * 100, 3), 3);

        // Shared work ran on dedicated headroom, headroom slept, and loads were warm: the mechanisms did it, not a smaller figure.
        Assert.True(liquid.SharedTokensOnDedicated > 0);
        Assert.True(liquid.Loads.Wakes > 0);
        // Loads of dedicated and serverless replicas (what a customer waits on) are mostly warm; batch replicas land on
        // whatever GPUs are free, and most of the day's dedicated rises are wakes, not loads at all.
        var served = liquid.Deployments.Where(d => !string.Equals(d.Class, "batch", StringComparison.Ordinal)).ToArray();
        Assert.True(served.Sum(d => d.WarmLoads) > 2 * served.Sum(d => d.ColdLoads), $"warm {served.Sum(d => d.WarmLoads)}, cold {served.Sum(d => d.ColdLoads)}");
        Assert.Equal(0, fixedSilos.SharedTokensOnDedicated);
    }

    /// <summary>
    /// Fleets unlike fleet-1k: burstier traffic with another model mix, and a dedicated-heavy fleet with a 671B model.
    /// Liquid serves more dedicated tokens than fixed silos, keeps more of the fleet busy, earns a higher margin and
    /// serves at least 99.9% of due dedicated demand, waking sleeping engines for its rises, and spills less serverless
    /// demand (serverless overflow is served on batch replicas of its model, and serverless does not count on the dedicated
    /// spare kept for dedicated rises); on the dedicated-heavy fleet it holds the reservations to 99.99%. It does not reach
    /// every target there (docs/simulator.md says which).
    /// </summary>
    [Theory]
    [InlineData("bursty", true, false)]
    [InlineData("dedicated-heavy", true, true)]
    public void Simulate_FleetsUnlikeFleet1k_LiquidBeatsFixedSilosOnServiceAndMargin(string fleet, bool spillsNoMore, bool holdsReservations)
    {
        var report = Day(fleet);
        var (liquid, fixedSilos, oracle) = (report.Policies["liquid"], report.Policies["static"], report.Policies["oracle"]);

        Assert.True(liquid.DedicatedServedShare >= 0.999, $"dedicated served {liquid.DedicatedServedShare}");
        Assert.True(liquid.ServedTokens.Dedicated > fixedSilos.ServedTokens.Dedicated, "liquid served fewer dedicated tokens than fixed silos");
        Assert.True(liquid.Utilization > fixedSilos.Utilization + 0.05, $"utilization {liquid.Utilization} against {fixedSilos.Utilization}");
        Assert.True(liquid.MarginUsd > fixedSilos.MarginUsd, $"margin {liquid.MarginUsd} against {fixedSilos.MarginUsd}");
        Assert.True(oracle.Utilization >= liquid.Utilization, "the oracle is the limit");
        Assert.True(liquid.Loads.Wakes > 0);

        // The worst-served deployment within its reservation is named, with its own share, never above the fleet's.
        var worst = Assert.Single(liquid.Deployments, d => d.DeploymentId == liquid.WorstReservedDeployment);
        Assert.Equal(worst.ReservedServedShare, liquid.WorstReservedServedShare);
        Assert.True(liquid.WorstReservedServedShare <= liquid.ReservedServedShare);
        Assert.All(liquid.Deployments.Where(d => d.ReservedServedShare is not null), d => Assert.True(d.ReservedServedShare >= liquid.WorstReservedServedShare));
        if (holdsReservations)
        {
            Assert.True(liquid.ReservedServedShare >= 0.9999, $"reserved served {liquid.ReservedServedShare}");
        }

        if (spillsNoMore)
        {
            Assert.True(liquid.SpilledSharedTokens <= fixedSilos.SpilledSharedTokens, $"liquid spilled {liquid.SpilledSharedTokens}, static {fixedSilos.SpilledSharedTokens}");
        }
    }
}
