using ControlPlane.Simulator.Simulation;
using ControlPlane.Testing;

namespace ControlPlane.Simulator.Tests.Simulation;

public sealed class TraceReaderTests
{
    [Fact]
    public void Read_ShippedAzureTrace_HasEveryRequestFromTheFirstTimestamp()
    {
        var trace = TraceReader.Read(RepoPaths.Combine("deploy", "sim", "traces", "azure-llm-2023-conv.csv"));

        Assert.Equal("azure-llm-2023-conv", trace.Name);
        Assert.Equal(19_366, trace.Rows);
        Assert.Equal(new DateTimeOffset(2023, 11, 16, 18, 15, 46, TimeSpan.Zero).AddTicks(6_805_900), trace.FirstTimestamp);
        Assert.Equal(3_501.721937, trace.DurationSeconds);
        Assert.Equal(22_361_870 + 4_088_665, trace.TotalTokens);
    }

    [Fact]
    public void Read_TimestampsWithOffsetsAndRowsOutOfOrder_SortsThemInUtc()
    {
        const string csv = """
            TIMESTAMP,ContextTokens,GeneratedTokens
            2024-05-10 00:00:02.000000+00:00,30,3
            2024-05-10 02:00:00.000000+02:00,10,1
            2024-05-10 00:00:01.500000+00:00,20,2
            """;

        var trace = TraceReader.Read(new StringReader(csv), "t", "t.csv");

        Assert.Equal(new DateTimeOffset(2024, 5, 10, 0, 0, 0, TimeSpan.Zero), trace.FirstTimestamp);
        Assert.Equal((3, 2.0, 66L), (trace.Rows, trace.DurationSeconds, trace.TotalTokens));
        Assert.Equal(11, trace.TokensBetween(0, 1.5));
        Assert.Equal(33, trace.TokensBetween(1.6, 2.5));
    }

    [Theory]
    [InlineData("", "t.csv: is empty: expected a header TIMESTAMP,ContextTokens,GeneratedTokens")]
    [InlineData("TIMESTAMP,Context,GeneratedTokens\n2024-01-01 00:00:00,1,1", "t.csv:1: the header has no ContextTokens column (expected TIMESTAMP,ContextTokens,GeneratedTokens, got 'TIMESTAMP,Context,GeneratedTokens')")]
    [InlineData("TIMESTAMP,ContextTokens,GeneratedTokens\n2024-01-01 00:00:00,1,1\nyesterday,1,1", "t.csv:3: 'yesterday' is not a timestamp")]
    [InlineData("TIMESTAMP,ContextTokens,GeneratedTokens\n2024-01-01 00:00:00,1,1\n2024-01-01 00:00:01,-5,1", "t.csv:3: ContextTokens '-5' is not a whole number of tokens")]
    [InlineData("TIMESTAMP,ContextTokens,GeneratedTokens\n2024-01-01 00:00:00,1", "t.csv:2: expected 3 fields, found 2")]
    [InlineData("TIMESTAMP,ContextTokens,GeneratedTokens\n2024-01-01 00:00:00,1,1", "t.csv: a trace needs at least two requests, found 1")]
    [InlineData("TIMESTAMP,ContextTokens,GeneratedTokens\n2024-01-01 00:00:00,1,1\n2024-01-01 00:00:00,2,2", "t.csv: every request has the same timestamp: the trace has no duration")]
    public void Read_BadFile_SaysWhereAndWhy(string csv, string expected)
    {
        var error = Assert.Throws<TraceFormatException>(() => TraceReader.Read(new StringReader(csv), "t", "t.csv"));

        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void TokensBetween_PastTheEnd_LoopsTheTrace()
    {
        // Requests at 0, 1 and 2 s: the period is 3 s (the span plus one mean gap).
        var trace = Trace.FromRequests("t", [(0, 1), (1, 10), (2, 100)]);

        Assert.Equal(3, trace.PeriodSeconds);
        Assert.Equal(111, trace.TokensBetween(0, 3));
        Assert.Equal(111, trace.TokensBetween(3, 6));
        Assert.Equal(110 + 1, trace.TokensBetween(1, 3.5));
        Assert.Equal(100 + 111 * 2, trace.TokensBetween(-1, 6));
    }

    [Fact]
    public void RequestsBetween_PastTheEnd_LoopsWithTheLoopAndTheirTokensAreTokensBetween()
    {
        var trace = Trace.FromRequests("t", [(0, 1L, 2L), (1, 10L, 20L), (2, 100L, 200L)]);

        var requests = trace.RequestsBetween(-1, 6).ToArray();

        Assert.Equal(
            [
                new TraceRequest(-1, 2, -1, 100, 200),
                new TraceRequest(0, 0, 0, 1, 2), new TraceRequest(0, 1, 1, 10, 20), new TraceRequest(0, 2, 2, 100, 200),
                new TraceRequest(1, 0, 3, 1, 2), new TraceRequest(1, 1, 4, 10, 20), new TraceRequest(1, 2, 5, 100, 200),
            ],
            requests);
        Assert.Equal(trace.TokensBetween(-1, 6), requests.Sum(r => r.Tokens));
        Assert.Empty(trace.RequestsBetween(1.5, 1.5));
        Assert.Equal([new TraceRequest(0, 1, 1, 10, 20)], trace.RequestsBetween(1, 2));
    }

    [Fact]
    public void Read_ShippedAzureTrace_KeepsInputAndOutputTokensApart()
    {
        var first = SimulationInputs.AzureTrace.RequestsBetween(0, 4.4).ToArray();

        // The first rows: 374 + 44 at 0 s, 396 + 109 at 4.31 s.
        Assert.Equal([(0, 374L, 44L), (1, 396L, 109L)], first.Select(r => (r.Index, r.InputTokens, r.OutputTokens)));
    }
}
