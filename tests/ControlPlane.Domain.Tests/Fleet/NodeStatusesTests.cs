using ControlPlane.Domain.Fleet;

namespace ControlPlane.Domain.Tests.Fleet;

public sealed class NodeStatusesTests
{
    [Theory]
    [InlineData(NodeHealth.Ready, NodeScheduling.Schedulable, NodeStatus.Ready)]
    [InlineData(NodeHealth.Ready, NodeScheduling.Cordoned, NodeStatus.Cordoned)]
    [InlineData(NodeHealth.Ready, NodeScheduling.Draining, NodeStatus.Draining)]
    [InlineData(NodeHealth.Suspect, NodeScheduling.Cordoned, NodeStatus.Suspect)]
    [InlineData(NodeHealth.Down, NodeScheduling.Draining, NodeStatus.Down)]
    [InlineData(NodeHealth.Enrolled, NodeScheduling.Schedulable, NodeStatus.Enrolled)]
    [InlineData(NodeHealth.Enrolled, NodeScheduling.Cordoned, NodeStatus.Cordoned)]
    public void Combine_HealthProblemsShowFirst(NodeHealth health, NodeScheduling scheduling, NodeStatus expected)
    {
        Assert.Equal(expected, NodeStatuses.Combine(health, scheduling));
    }
}
