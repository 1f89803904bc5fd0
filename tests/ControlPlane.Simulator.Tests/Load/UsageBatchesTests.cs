using System.Text.Json.Nodes;
using ControlPlane.Simulator.Load;

namespace ControlPlane.Simulator.Tests.Load;

public sealed class UsageBatchesTests
{
    private static readonly DateTimeOffset StartedAt = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Body_EveryEventIdNew_CustomersRoundRobin_TimestampsOfOneDay()
    {
        var batches = new UsageBatches("run1", 7, ["c0", "c1", "c2"], "m", StartedAt);

        var events = Enumerable.Range(0, 3).SelectMany(b => JsonNode.Parse(batches.Body(b))!["events"]!.AsArray()).ToArray();

        Assert.Equal(21, events.Length);
        Assert.Equal(21, events.Select(e => e!["eventId"]!.GetValue<string>()).Distinct().Count());
        Assert.Equal(7, events.Count(e => e!["customerId"]!.GetValue<string>() == "c0"));
        Assert.All(events, e => Assert.Equal("m", e!["model"]!.GetValue<string>()));
        Assert.All(events, e => Assert.Equal(StartedAt.Date, e!["timestamp"]!.GetValue<DateTimeOffset>().UtcDateTime.Date));
        Assert.All(events, e => Assert.True(e!["timestamp"]!.GetValue<DateTimeOffset>() <= StartedAt));
        Assert.Equal("run1-batch-2", JsonNode.Parse(batches.Body(2))!["batchId"]!.GetValue<string>());
    }

    [Fact]
    public void Totals_AreTheSumsOfTheBodies()
    {
        var batches = new UsageBatches("run2", 50, ["a", "b"], "m", StartedAt);
        var sent = new[] { 0, 3, 4 };

        var events = sent.SelectMany(b => JsonNode.Parse(batches.Body(b))!["events"]!.AsArray()).ToArray();
        var totals = batches.Totals(sent);

        foreach (var customer in new[] { "a", "b" })
        {
            var mine = events.Where(e => e!["customerId"]!.GetValue<string>() == customer).ToArray();
            Assert.Equal(mine.Sum(e => e!["inputTokens"]!.GetValue<long>()), totals[customer].Input);
            Assert.Equal(mine.Sum(e => e!["outputTokens"]!.GetValue<long>()), totals[customer].Output);
        }
    }

    [Fact]
    public void Totals_WithHistory_AreTheSumsOfTheLoadAndHistoryBodies()
    {
        var batches = new UsageBatches("run3", 50, ["a", "b", "c"], "m", StartedAt);
        var sent = new[] { 0, 1 };

        var history = Enumerable.Range(1, 3).SelectMany(d => JsonNode.Parse(batches.HistoryBody(d))!["events"]!.AsArray()).ToArray();
        var events = sent.SelectMany(b => JsonNode.Parse(batches.Body(b))!["events"]!.AsArray()).Concat(history).ToArray();
        var totals = batches.Totals(sent, historyDays: 3);

        Assert.Equal(3 * batches.HistoryBatchSize, history.Length);
        Assert.Equal(
            [StartedAt.UtcDateTime.Date.AddDays(-1), StartedAt.UtcDateTime.Date.AddDays(-2), StartedAt.UtcDateTime.Date.AddDays(-3)],
            history.Select(e => e!["timestamp"]!.GetValue<DateTimeOffset>().UtcDateTime.Date).Distinct());
        Assert.Equal(events.Length, events.Select(e => e!["eventId"]!.GetValue<string>()).Distinct().Count());
        foreach (var customer in new[] { "a", "b", "c" })
        {
            var mine = events.Where(e => e!["customerId"]!.GetValue<string>() == customer).ToArray();
            Assert.NotEmpty(mine);
            Assert.Equal(mine.Sum(e => e!["inputTokens"]!.GetValue<long>()), totals[customer].Input);
            Assert.Equal(mine.Sum(e => e!["outputTokens"]!.GetValue<long>()), totals[customer].Output);
        }
    }

    [Fact]
    public void StateWriteCounters_SumsTheSeriesOfTheState()
    {
        const string metrics = """
            # TYPE orleans_storage_write_latency_milliseconds histogram
            orleans_storage_write_latency_milliseconds_bucket{otel_scope_name="Microsoft.Orleans",state_name="usage-bucket",le="5"} 3
            orleans_storage_write_latency_milliseconds_sum{otel_scope_name="Microsoft.Orleans",provider_type_name="AdoNetGrainStorage",state_name="usage-bucket",state_type="UsageBucketState"} 12.5
            orleans_storage_write_latency_milliseconds_count{otel_scope_name="Microsoft.Orleans",provider_type_name="AdoNetGrainStorage",state_name="usage-bucket",state_type="UsageBucketState"} 4
            orleans_storage_write_latency_milliseconds_count{otel_scope_name="Microsoft.Orleans",provider_type_name="AdoNetGrainStorage",state_name="contract",state_type="ContractLedger"} 9
            """;

        var counters = StateWriteCounters.Parse(metrics, "usage-bucket");

        Assert.Equal(new StateWriteCounters(4, 12.5), counters);
        Assert.Equal(new StateWriteCounters(3, 10.5), counters!.Minus(new StateWriteCounters(1, 2)));
        Assert.Null(StateWriteCounters.Parse(metrics, "price-list"));
    }
}
