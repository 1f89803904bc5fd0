using Xunit;

namespace ControlPlane.Testing;

/// <summary>
/// One Azurite Table service shared by the tests of a collection (or class, or assembly). Tests keep
/// apart by using their own table names (or Orleans cluster ids).
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    /// <summary>The collection name test projects define with <c>ICollectionFixture&lt;AzuriteFixture&gt;</c>.</summary>
    public const string CollectionName = "Azurite";

    private AzuriteServer? _server;

    /// <summary>The running server.</summary>
    public AzuriteServer Server => _server ?? throw new InvalidOperationException("The Azurite fixture has not been initialised.");

    /// <summary>The storage connection string of the development account (Table endpoint only).</summary>
    public string ConnectionString => Server.ConnectionString;

    /// <inheritdoc />
    public async ValueTask InitializeAsync() => _server = await AzuriteServer.StartAsync();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
