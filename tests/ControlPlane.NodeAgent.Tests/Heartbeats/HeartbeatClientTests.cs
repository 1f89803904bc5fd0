using ControlPlane.NodeAgent.Heartbeats;

namespace ControlPlane.NodeAgent.Tests.Heartbeats;

public sealed class HeartbeatClientTests
{
    [Theory]
    [InlineData("http://cp.example.com/", "node-a", "http://cp.example.com/agent/v1/nodes/node-a/heartbeat")]
    [InlineData("https://cp.example.com/controlplane/", "node-a", "https://cp.example.com/controlplane/agent/v1/nodes/node-a/heartbeat")]
    [InlineData("http://cp.example.com/", "rack/7", "http://cp.example.com/agent/v1/nodes/rack%2F7/heartbeat")]
    public void Endpoint_ServerAndNodeId_IsTheHeartbeatUrl(string server, string nodeId, string expected)
    {
        using var http = new HttpClient();

        var client = new HeartbeatClient(http, new Uri(server), nodeId, "token");

        Assert.Equal(expected, client.Endpoint.AbsoluteUri);
    }
}
