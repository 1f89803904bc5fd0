using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Cluster;

/// <summary>
/// What every production-mode test cluster shares: grain state in the given PostgreSQL database, membership on Azurite
/// under a fresh cluster id (so runs never meet), the silos on loopback and a configured operator token. A test adds its
/// own settings to the dictionary.
/// </summary>
public static class ClusterSettings
{
    /// <param name="name">Names the cluster id's prefix and the service id (<c>{name}-test</c>).</param>
    public static Dictionary<string, string> For(string db, AzuriteFixture azurite, string name, string operatorToken) => new()
    {
        ["Storage:Provider"] = "postgres",
        ["Storage:ConnectionString"] = db,
        ["Clustering:Provider"] = "azuretable",
        ["Clustering:ConnectionString"] = azurite.ConnectionString,
        ["Clustering:ClusterId"] = name + "-" + Guid.NewGuid().ToString("N")[..8],
        ["Clustering:ServiceId"] = name + "-test",
        ["Clustering:AdvertisedIPAddress"] = "127.0.0.1",
        ["Auth:BootstrapToken"] = operatorToken,
    };
}
