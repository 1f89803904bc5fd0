namespace ControlPlane.Server.Tests.Hosting;

/// <summary>
/// One embedded server (memory state, localhost clustering) for the collection, with a 1-second heartbeat
/// interval so failure detection (suspect after 2 s, down after 6 s) is quick to observe; the suspect
/// window is wide enough (4 s) for a poll to see it on a busy machine.
/// </summary>
public sealed class EmbeddedServerFixture : IAsyncLifetime
{
    public const string CollectionName = "Embedded server";

    private ServerProcess? _server;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("Not started.");

    public async ValueTask InitializeAsync() =>
        _server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["Fleet:HeartbeatIntervalSeconds"] = "1",
            ["Fleet:SuspectAfterMissedHeartbeats"] = "2",
            ["Fleet:DownAfterMissedHeartbeats"] = "6",
        });

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(EmbeddedServerFixture.CollectionName)]
public sealed class EmbeddedServerCollection : ICollectionFixture<EmbeddedServerFixture>;
