using System.Text.Json;
using ControlPlane.Simulator.Live;

namespace ControlPlane.Simulator.Tests.Live;

public sealed class SharingSummaryTests
{
    private const string Metrics = """
        # TYPE controlplane_model_loads_total counter
        controlplane_model_loads_total{cache="cold",otel_scope_name="ControlPlane"} 41
        controlplane_model_loads_total{cache="warm",otel_scope_name="ControlPlane"} 3
        controlplane_prefetches_total{event="requested"} 2
        """;

    [Fact]
    public void Render_SlackAndPartnerRoutes_SumsThemPerLenderAndPartner_WithTheLoads()
    {
        var routes = Json("""
            {"routes": [
              {"kind": "replica", "deploymentId": "sls", "replicaId": "sls-0", "weight": 0.5, "tokensPerSecond": 1000},
              {"kind": "dedicated-slack", "deploymentId": "ded", "replicaId": "ded-0", "weight": 0.1, "tokensPerSecond": 209.5},
              {"kind": "dedicated-slack", "deploymentId": "ded", "replicaId": "ded-1", "weight": 0.1, "tokensPerSecond": 209.5},
              {"kind": "partner", "partnerId": "p1", "weight": 0.3, "tokensPerSecond": 427}
            ]}
            """);
        var other = Json("""{"routes": [{"kind": "partner", "partnerId": "p1", "weight": 1, "tokensPerSecond": 73}]}""");

        var line = SharingSummary.Render([("sls", routes), ("other", other)], Metrics);

        Assert.Equal(
            "           shared: 419 tokens/s of sls on ded's 2 dedicated replicas | partner spill 500 tokens/s to p1 | model loads 3 warm, 41 cold" + Environment.NewLine,
            line);
    }

    [Fact]
    public void Render_NoSharingAndNoMetrics_SaysSo()
    {
        var line = SharingSummary.Render([("sls", Json("""{"routes": []}"""))], metrics: null);

        Assert.Equal("           shared: no shared tokens on dedicated replicas | no partner spill | model loads unknown" + Environment.NewLine, line);
    }

    [Fact]
    public void Render_NoLoadsYet_CountsZero()
    {
        var line = SharingSummary.Render([], "controlplane_prefetches_total{event=\"requested\"} 2\n");

        Assert.EndsWith("model loads 0 warm, 0 cold" + Environment.NewLine, line);
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    [Fact]
    public void Render_SleepingEnginesAndWakes_AreAddedAcrossRegions()
    {
        var metrics = Metrics + """

            controlplane_engines_sleeping{otel_scope_name="ControlPlane",region="eu-west"} 2
            controlplane_engines_sleeping{otel_scope_name="ControlPlane",region="us-east"} 1
            controlplane_wakes_total{otel_scope_name="ControlPlane"} 4
            """;

        var line = SharingSummary.Render([], metrics);

        Assert.EndsWith("model loads 3 warm, 41 cold | 3 engines asleep, 4 wakes" + Environment.NewLine, line);
    }

    [Fact]
    public void Render_NoSleepingEnginesAndNoWakes_SaysNothingOfThem()
    {
        var line = SharingSummary.Render([], Metrics + "\ncontrolplane_engines_sleeping{region=\"eu-west\"} 0\ncontrolplane_wakes_total 0\n");

        Assert.EndsWith("model loads 3 warm, 41 cold" + Environment.NewLine, line);
    }
}
