using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Deployments;

/// <summary>
/// An embedded server with the forecast on, from a 2-second horizon (far shorter than the test agents' loads), so the
/// horizon each deployment learns from its replicas' loads is seen to move; 1-second heartbeats.
/// </summary>
public sealed class ForecastServerFixture() : ServerFixture(new Dictionary<string, string>
{
    ["Fleet:HeartbeatIntervalSeconds"] = "1",
    ["Capacity:ScaleDownDelaySeconds"] = "3",
    ["Capacity:ForecastHorizonSeconds"] = "2",
    ["Capacity:ReconcileSeconds"] = "1",
})
{
    public const string CollectionName = "Forecast server";
}

[CollectionDefinition(ForecastServerFixture.CollectionName)]
public sealed class ForecastServerCollection : ICollectionFixture<ForecastServerFixture>;
