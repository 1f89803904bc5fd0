namespace ControlPlane.Server.Tests.Hosting;

/// <summary>
/// One embedded server for the throttling and unknown-id tests: the memory report is mapped (it counts activations
/// by grain type), and the limits are small and refill once a minute, so a test reaches them in a few requests
/// and nothing refills while it runs. Partitions are per token identity, node id or address: each test uses its
/// own customer, gateway, node or loopback address, so none starts from another's spent budget.
/// </summary>
public sealed class HostileVolumeServerFixture() : ServerFixture(new Dictionary<string, string>
{
    ["Diagnostics:LoadBaselines"] = "true",
    ["RateLimiting:Customer:Burst"] = Burst.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ["RateLimiting:Customer:PerSecond"] = OncePerMinute,
    ["RateLimiting:Gateway:Burst"] = Burst.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ["RateLimiting:Gateway:PerSecond"] = OncePerMinute,
    ["RateLimiting:Node:Burst"] = Burst.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ["RateLimiting:Node:PerSecond"] = OncePerMinute,
    ["RateLimiting:FailedAuthentication:Burst"] = Burst.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ["RateLimiting:FailedAuthentication:PerSecond"] = OncePerMinute,
    ["RateLimiting:Anonymous:Burst"] = Burst.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ["RateLimiting:Anonymous:PerSecond"] = OncePerMinute,
})
{
    public const string CollectionName = "Hostile volume";

    /// <summary>Requests each partition may make at once.</summary>
    public const int Burst = 30;

    private const string OncePerMinute = "0.016666667";
}

[CollectionDefinition(HostileVolumeServerFixture.CollectionName)]
public sealed class HostileVolumeServerCollection : ICollectionFixture<HostileVolumeServerFixture>;
