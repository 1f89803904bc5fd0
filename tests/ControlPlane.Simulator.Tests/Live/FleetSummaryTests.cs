using ControlPlane.Simulator.Live;

namespace ControlPlane.Simulator.Tests.Live;

public sealed class FleetSummaryTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static readonly PoolSummary[] Pools =
    [
        new("us-east", 16, 8, new Dictionary<string, int> { ["ready"] = 1, ["suspect"] = 1 }),
        new("eu-west", 12, 12, new Dictionary<string, int> { ["ready"] = 2 }),
    ];

    [Fact]
    public void Render_Nodes_OneLineEachSortedWithPools()
    {
        var text = new FleetSummary().Render(Now, [Node("b-2", "suspect"), Node("a-1", "ready")], Pools);

        var lines = text.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.EndsWith("2 nodes: 1 ready, 1 suspect", lines[0]);
        Assert.Equal("  a-1  ready     h100-sxm-80gb   8 GPUs", lines[1]);
        Assert.Equal("  b-2  suspect   h100-sxm-80gb   8 GPUs", lines[2]);
        Assert.Equal("  pools: eu-west 12/12 GPUs healthy (2 ready) | us-east 8/16 GPUs healthy (1 ready, 1 suspect)", lines[3]);
    }

    [Fact]
    public void Render_StatusChanged_SaysWhatItWas()
    {
        var summary = new FleetSummary();
        summary.Render(Now, [Node("a-1", "ready"), Node("b-2", "ready")], Pools);

        var text = summary.Render(Now, [Node("a-1", "down"), Node("b-2", "ready")], Pools);

        Assert.Contains("a-1  down      h100-sxm-80gb   8 GPUs  (was ready)", text);
        Assert.Contains("b-2  ready     h100-sxm-80gb   8 GPUs" + Environment.NewLine, text);
    }

    [Fact]
    public void Render_InventoryError_ShownShortWithUnhealthyGpus()
    {
        var error = new string('x', 200);

        var text = new FleetSummary().Render(Now, [Node("a-1", "ready") with { HealthyGpuCount = 0, InventoryError = error }], Pools);

        Assert.Contains($"8 GPUs (0 healthy)  inventory error: {new string('x', 70)}...", text);
    }

    [Fact]
    public void Render_LargeFleet_ListsOnlyNodesThatNeedALook()
    {
        var nodes = Enumerable.Range(0, 30).Select(i => Node($"n-{i:D2}", i == 7 ? "down" : "ready")).ToArray();

        var text = new FleetSummary().Render(Now, nodes, Pools);

        Assert.Contains("n-07  down", text);
        Assert.DoesNotContain("n-08", text);
        Assert.Contains("(29 more nodes ready and unchanged)", text);
    }

    private static NodeSummary Node(string id, string status) => new(id, "eu-west", status, "h100-sxm-80gb", 8, 8, null);
}
