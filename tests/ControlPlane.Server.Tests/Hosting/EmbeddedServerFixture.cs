namespace ControlPlane.Server.Tests.Hosting;

/// <summary>
/// One embedded server (memory state, localhost clustering) for the collection, with a 1-second heartbeat
/// interval so failure detection (suspect after 2 s, down after 6 s) is quick to observe; the suspect
/// window is wide enough (4 s) for a poll to see it on a busy machine.
/// </summary>
public sealed class EmbeddedServerFixture() : ServerFixture(new Dictionary<string, string>
{
    ["Fleet:HeartbeatIntervalSeconds"] = "1",
    ["Fleet:SuspectAfterMissedHeartbeats"] = "2",
    ["Fleet:DownAfterMissedHeartbeats"] = "6",
})
{
    public const string CollectionName = "Embedded server";
}

[CollectionDefinition(EmbeddedServerFixture.CollectionName)]
public sealed class EmbeddedServerCollection : ICollectionFixture<EmbeddedServerFixture>;
