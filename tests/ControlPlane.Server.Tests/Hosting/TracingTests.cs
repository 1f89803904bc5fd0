using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ControlPlane.Server.Tests.Hosting;

/// <summary>
/// Traces and logs of a real server on PostgreSQL that exports over OTLP/HTTP to a collector in the test: a request
/// that reaches a grain and the database is one trace, and the log lines written during it name that trace.
/// </summary>
public sealed class TracingTests(PostgresFixture postgres)
{
    private const string OperatorToken = "tracing-tests-operator-token";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Trace_EnrolRequest_OneTraceFromHttpThroughGrainCallToPostgres()
    {
        await using var collector = OtlpReceiver.Start();
        await using var server = await StartAsync(nameof(Trace_EnrolRequest_OneTraceFromHttpThroughGrainCallToPostgres), collector);
        var (traceId, callerSpanId) = (ActivityTraceId.CreateRandom().ToHexString(), ActivitySpanId.CreateRandom().ToHexString());

        await EnrolAsync(server, "traced-node-1", traceId, callerSpanId);

        var spans = await Poll.UntilAsync(
            () => Task.FromResult(collector.Spans.Where(s => s.TraceId == traceId).ToList()),
            s => s.Any(x => x.Scope == "Microsoft.AspNetCore") && s.Any(x => x.Scope == "Microsoft.Orleans.Application") && s.Any(x => x.Scope == "Npgsql"),
            TimeSpan.FromSeconds(30),
            "the HTTP, grain-call and Npgsql spans of the enrol request at the collector");
        var http = Assert.Single(spans, s => s.Scope == "Microsoft.AspNetCore");
        Assert.Equal(OtlpSpan.ServerKind, http.Kind);
        Assert.Equal("POST /admin/v1/nodes", http.Name);
        Assert.Equal(callerSpanId, http.ParentSpanId);

        // Each Npgsql command of the request descends from a grain call, which descends from the HTTP span.
        var byId = spans.ToDictionary(s => s.SpanId);
        var npgsql = spans.Where(s => s.Scope == "Npgsql").ToList();
        Assert.All(npgsql, command =>
        {
            var ancestors = Ancestors(command, byId).ToList();
            Assert.Contains(ancestors, a => a.Scope == "Microsoft.Orleans.Application");
            Assert.Equal(http, ancestors[^1]);
        });
        Assert.All(spans, s => Assert.Equal("controlplane", s.ServiceName));
        Assert.All(collector.ContentTypes, t => Assert.Equal("application/x-protobuf", t));
    }

    [Fact]
    public async Task Logs_JsonFormat_EveryLineIsJsonAndALineWrittenInAGrainCarriesTheRequestsTraceId()
    {
        await using var collector = OtlpReceiver.Start();
        await using var server = await StartAsync(nameof(Logs_JsonFormat_EveryLineIsJsonAndALineWrittenInAGrainCarriesTheRequestsTraceId), collector);
        var traceId = ActivityTraceId.CreateRandom().ToHexString();

        await EnrolAsync(server, "traced-node-2", traceId, ActivitySpanId.CreateRandom().ToHexString());

        var line = await Poll.UntilAsync(
            () => Task.FromResult(Lines(server).FirstOrDefault(l => Message(l).Contains("Node traced-node-2 enrolled", StringComparison.Ordinal))),
            l => l.ValueKind != JsonValueKind.Undefined,
            TimeSpan.FromSeconds(10),
            "the grain's 'enrolled' log line");
        var scopes = line.GetProperty("Scopes").EnumerateArray().ToList();
        Assert.Contains(scopes, s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("TraceId", out var id) && id.GetString() == traceId);
        Assert.True(line.TryGetProperty("Timestamp", out _));

        // Start-up lines (the banner, the storage line) are JSON log lines too, so a log pipeline reads every line.
        Assert.Contains(Lines(server), l => Message(l).StartsWith("listening on http://127.0.0.1:", StringComparison.Ordinal));
        Assert.Contains(Lines(server), l => Message(l) == $"storage postgres, clustering localhost, traces to {collector.Endpoint}");
        var notJson = server.Output.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !IsJsonObject(l)).ToList();
        Assert.Empty(notJson);
    }

    [Fact]
    public async Task Trace_StandardOtelVariablesOnly_SpansReachTheCollector()
    {
        await using var collector = OtlpReceiver.Start();
        await using var server = await StartAsync(nameof(Trace_StandardOtelVariablesOnly_SpansReachTheCollector), collector, new Dictionary<string, string>
        {
            // What an OpenTelemetry Operator or a platform injects; the exporter adds /v1/traces itself.
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        });
        var traceId = ActivityTraceId.CreateRandom().ToHexString();

        await EnrolAsync(server, "traced-node-3", traceId, ActivitySpanId.CreateRandom().ToHexString());

        await Poll.UntilAsync(
            () => Task.FromResult(collector.Spans.Where(s => s.TraceId == traceId).ToList()),
            s => s.Any(x => x.Scope == "Microsoft.AspNetCore") && s.Any(x => x.Scope == "Npgsql"),
            TimeSpan.FromSeconds(30),
            "the enrol request's spans at the collector named by OTEL_EXPORTER_OTLP_ENDPOINT");
        Assert.Contains($"traces to {collector.Endpoint}", server.Output);
    }

    private async Task<ServerProcess> StartAsync(string test, OtlpReceiver collector, Dictionary<string, string>? tracing = null)
    {
        var db = await postgres.CreateDatabaseAsync(test, Ct);
        var settings = new Dictionary<string, string>
        {
            ["Storage:Provider"] = "postgres",
            ["Storage:ConnectionString"] = db,
            ["Auth:BootstrapToken"] = OperatorToken,
            // The batch processor's 5 s default, shortened: the test waits for the spans.
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["Logging:Console:FormatterName"] = "json",
        };
        foreach (var (key, value) in tracing ?? new() { ["Tracing:OtlpEndpoint"] = collector.Endpoint, ["Tracing:OtlpProtocol"] = "http/protobuf" })
        {
            settings[key] = value;
        }

        return await ServerProcess.StartAsync(settings, ct: Ct);
    }

    /// <summary>Enrols a node as a caller that already started a sampled trace (W3C <c>traceparent</c>).</summary>
    private static async Task EnrolAsync(ServerProcess server, string nodeId, string traceId, string callerSpanId)
    {
        using var admin = server.CreateOperatorClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/nodes")
        {
            Content = JsonContent.Create(new { nodeId, region = "eu-west", provider = "own-dc", ownership = "owned", hourlyCostUsd = 24.5m }),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{callerSpanId}-01");
        using var response = await admin.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private static IEnumerable<OtlpSpan> Ancestors(OtlpSpan span, Dictionary<string, OtlpSpan> byId)
    {
        for (var parent = span; byId.TryGetValue(parent.ParentSpanId, out var next); parent = next)
        {
            yield return next;
        }
    }

    private static IEnumerable<JsonElement> Lines(ServerProcess server) =>
        server.Output.ReplaceLineEndings("\n").Split('\n').Where(IsJsonObject).Select(l => JsonDocument.Parse(l).RootElement.Clone());

    private static string Message(JsonElement line) =>
        line.ValueKind == JsonValueKind.Object && line.TryGetProperty("Message", out var m) ? m.GetString() ?? "" : "";

    private static bool IsJsonObject(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
