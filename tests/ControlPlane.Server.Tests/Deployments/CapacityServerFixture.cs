using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Deployments;

/// <summary>
/// An embedded server tuned for watching capacity move: 1-second heartbeats, a node down after 4 missed ones, a
/// 3-second scale-down delay, and no forecast headroom (replica counts follow demand exactly; the forecast has its own
/// tests in the domain). Tests share it and keep apart by region (every deployment names its region).
/// </summary>
public sealed class CapacityServerFixture() : ServerFixture(new Dictionary<string, string>
{
    ["Fleet:HeartbeatIntervalSeconds"] = "1",
    ["Fleet:SuspectAfterMissedHeartbeats"] = "2",
    ["Fleet:DownAfterMissedHeartbeats"] = "4",
    ["Capacity:ScaleDownDelaySeconds"] = "3",
    ["Capacity:ForecastHorizonSeconds"] = "0",
    ["Capacity:ReconcileSeconds"] = "1",
    ["Metrics:FleetRefreshSeconds"] = "1",
})
{
    public const string CollectionName = "Capacity server";
}

[CollectionDefinition(CapacityServerFixture.CollectionName)]
public sealed class CapacityServerCollection : ICollectionFixture<CapacityServerFixture>;
