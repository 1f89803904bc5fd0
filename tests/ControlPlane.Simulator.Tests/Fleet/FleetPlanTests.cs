using ControlPlane.Domain.Fleet;
using ControlPlane.Simulator.Fleet;

namespace ControlPlane.Simulator.Tests.Fleet;

public sealed class FleetPlanTests
{
    [Fact]
    public void Create_Six_IsTheDocumentedMix()
    {
        var plan = FleetPlan.Create(6);

        Assert.Equal(
            ["sim-eu-west-h100-01", "sim-us-east-h200-02", "sim-eu-west-l40s-03", "sim-us-east-h100-04", "sim-eu-west-h200-05", "sim-us-east-l40s-06"],
            plan.Select(n => n.NodeId));
        Assert.Equal(["eu-west", "us-east"], plan.Select(n => n.Region).Distinct().Order());
        Assert.Equal(["owned", "rented"], plan.Select(n => n.Ownership).Distinct().Order());
        Assert.Equal(
            ["h100-sxm-80gb", "h200-141gb", "l40s-48gb"],
            plan.Select(n => GpuSkuCatalog.Resolve(n.Gpu.Name, n.Gpu.MemoryMiB)).Distinct().Order());
    }

    [Fact]
    public void Create_AnySize_KeepsEachNodeTheSame()
    {
        // A rerun with more nodes enrolls the first ones on the same terms, so their Idempotency-Key still matches.
        Assert.Equal(FleetPlan.Create(3), FleetPlan.Create(14).Take(3));
        Assert.Equal(14, FleetPlan.Create(14).Select(n => n.NodeId).Distinct().Count());
    }
}
