using ControlPlane.Contracts;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;

namespace ControlPlane.Grains.Tests.Deployments;

/// <summary>Deployments and nodes for grain tests that share one scheduler: each test keeps to a region of its own.</summary>
internal static class TestFleet
{
    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    /// <summary>A spec confined to <paramref name="region"/>, so it never takes another test's nodes.</summary>
    public static DeploymentSpec Spec(
        string id, string region, DeploymentClass @class = DeploymentClass.Serverless, int min = 1, int max = 4, string model = "llama-70b") =>
        new(id, model, @class, @class == DeploymentClass.Dedicated ? "acme" : null, 1, 40, null, [region], min, 0, max, 100m);

    /// <summary>Enrolls a node of 8 H100s in <paramref name="region"/> and sends its first heartbeat, so it is ready.</summary>
    public static async Task<(INodeGrain Node, string TokenId)> ReadyNodeAsync(IGrainFactory grains, string nodeId, string region)
    {
        var node = grains.GetGrain<INodeGrain>(GrainKeys.Node(nodeId));
        var enrolled = await node.EnrollAsync(new NodeEnrollment(nodeId, region, "own-dc", Ownership.Owned, 20m, null));
        var outcome = await node.HeartbeatAsync(Heartbeat(nodeId, enrolled.TokenId!, 1));
        if (outcome.Result != HeartbeatResult.Accepted)
        {
            throw new InvalidOperationException($"Node {nodeId}'s first heartbeat was {outcome.Result}.");
        }

        return (node, enrolled.TokenId!);
    }

    public static NodeHeartbeat Heartbeat(string nodeId, string tokenId, long sequence) => new(
        sequence,
        "session-1",
        "test-agent",
        Enumerable.Range(0, 8).Select(i => new GpuReading(i, $"GPU-{nodeId}-{i}", "NVIDIA H100 80GB HBM3", 81559, 0, 0, 30, 100, 0)).ToArray(),
        null,
        tokenId);
}
