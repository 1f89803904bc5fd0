using ControlPlane.NodeAgent.Heartbeats;
using ControlPlane.NodeAgent.Replicas;

namespace ControlPlane.NodeAgent.Tests.Replicas;

public sealed class ReplicaSpecTests
{
    [Fact]
    public void TryCreate_CompleteEntry_KeepsTheGpuOrder()
    {
        Assert.True(ReplicaSpec.TryCreate(new DesiredReplica("r1", "dep-1", "meta-llama/Llama-3.1-8B-Instruct", [5, 4]), out var spec, out var problem), problem);

        Assert.Equal("5,4", spec.GpuList);
        Assert.Equal("deployment dep-1, model meta-llama/Llama-3.1-8B-Instruct, GPUs 5,4", spec.Describe());
    }

    [Theory]
    [InlineData("", "replicaId must be 1 to 128 characters without spaces or control characters, got ''")]
    [InlineData("r\n1", "replicaId must be 1 to 128 characters without spaces or control characters, got 'r\n1'")]
    public void TryCreate_BadReplicaId_SaysWhy(string replicaId, string expected)
    {
        Assert.False(ReplicaSpec.TryCreate(new DesiredReplica(replicaId, "dep-1", "model-a", [0]), out _, out var problem));

        Assert.Equal(expected, problem);
    }

    [Fact]
    public void TryCreate_ReplicaIdTheServerWouldRefuseInAReport_IsRefused()
    {
        Assert.True(ReplicaSpec.TryCreate(new DesiredReplica(new string('r', 128), "dep-1", "model-a", [0]), out _, out _));
        Assert.False(ReplicaSpec.TryCreate(new DesiredReplica(new string('r', 129), "dep-1", "model-a", [0]), out _, out _));
    }

    [Fact]
    public void TryCreate_ModelWithControlCharacter_IsRefused()
    {
        Assert.False(ReplicaSpec.TryCreate(new DesiredReplica("r1", "dep-1", "model\u0000a", [0]), out _, out var problem));

        Assert.StartsWith("replica 'r1': model must be 1 to 1024 characters without control characters", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Equals_SameFieldsInOtherLists_IsEqual()
    {
        var a = new ReplicaSpec("r1", "dep-1", "model-a", [0, 1]);
        var b = new ReplicaSpec("r1", "dep-1", "model-a", new List<int> { 0, 1 });

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { GpuIndices = [1, 0] });
    }

    [Fact]
    public void TryCreate_SharedRequestPriority_IsKeptAndReachesTheCommandsEnvironment()
    {
        Assert.True(ReplicaSpec.TryCreate(new DesiredReplica("r1", "dep-1", "m", [0], "low"), out var spec, out var problem), problem);

        Assert.Equal("low", spec.SharedRequestPriority);
        Assert.Equal("low", CommandReplicaRuntime.EnvironmentOf(spec)[CommandReplicaRuntime.SharedPriorityVariable]);
        Assert.False(CommandReplicaRuntime.EnvironmentOf(spec with { SharedRequestPriority = null }).ContainsKey(CommandReplicaRuntime.SharedPriorityVariable));
    }

    [Theory]
    [InlineData("LOW")]
    [InlineData("")]
    [InlineData("low; rm -rf /")]
    public void TryCreate_BadSharedRequestPriority_SaysWhy(string priority)
    {
        Assert.False(ReplicaSpec.TryCreate(new DesiredReplica("r1", "dep-1", "m", [0], priority), out _, out var problem));

        Assert.Contains("sharedRequestPriority must be 1 to 16 lower-case letters", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("reserved", true)]
    [InlineData("burst", true)]
    [InlineData("serverless", true)]
    [InlineData("batch", true)]
    [InlineData(null, false)]
    public void TryCreate_Tier_IsKeptAndSaysWhetherTheReplicaMaySleep(string? tier, bool maySleep)
    {
        Assert.True(ReplicaSpec.TryCreate(new DesiredReplica("r1", "dep-1", "m", [0], null, tier), out var spec, out var problem), problem);

        Assert.Equal((tier, maySleep), (spec.Tier, spec.MaySleep));
    }

    [Fact]
    public void TryCreate_BadTier_SaysWhy()
    {
        Assert.False(ReplicaSpec.TryCreate(new DesiredReplica("r1", "dep-1", "m", [0], null, "Reserved!"), out _, out var problem));

        Assert.Contains("tier must be 1 to 16 lower-case letters", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("vllm/vllm-openai:v0.11.0")]
    [InlineData("registry.example.net:5000/inference/vllm@sha256:0123abcd")]
    [InlineData(null)]
    public void TryCreate_Image_IsKept(string? image)
    {
        Assert.True(ReplicaSpec.TryCreate(new DesiredReplica("r1", "dep-1", "m", [0], Image: image), out var spec, out var problem), problem);

        Assert.Equal(image, spec.Image);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-vllm")]
    [InlineData("vllm serve")]
    [InlineData("vllm;rm")]
    [InlineData("vllm\nlatest")]
    public void TryCreate_BadImage_SaysWhy(string image)
    {
        Assert.False(ReplicaSpec.TryCreate(new DesiredReplica("r1", "dep-1", "m", [0], Image: image), out _, out var problem));

        Assert.StartsWith("replica 'r1': image must be 1 to 512 characters of letters, digits and . _ - / : @", problem, StringComparison.Ordinal);
    }
}
