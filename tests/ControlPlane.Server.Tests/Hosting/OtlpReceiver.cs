using System.Collections.Concurrent;
using System.Net;

namespace ControlPlane.Server.Tests.Hosting;

/// <summary>One span as an OTLP/HTTP exporter sent it: its scope (the activity source), ids as lowercase hex, name and kind.</summary>
public sealed record OtlpSpan(string ServiceName, string Scope, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind)
{
    public const int ServerKind = 2;
}

/// <summary>
/// A collector's OTLP/HTTP trace endpoint on loopback: accepts protobuf posts to <c>/v1/traces</c> and decodes the
/// few fields of each span a test asserts on (the wire format by hand; nothing else of OTLP is read).
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<OtlpSpan> _spans = new();
    private readonly ConcurrentQueue<string> _contentTypes = new();
    private readonly LoopbackHttpServer _server;

    private OtlpReceiver()
    {
        _server = LoopbackHttpServer.Start(ReceiveAsync);
    }

    /// <summary>The collector's base URL, as an operator would configure it.</summary>
    public string Endpoint => _server.BaseAddress;

    public IReadOnlyCollection<OtlpSpan> Spans => _spans;

    /// <summary>The content type of every post to <c>/v1/traces</c>.</summary>
    public IReadOnlyCollection<string> ContentTypes => _contentTypes;

    public static OtlpReceiver Start() => new();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task ReceiveAsync(HttpListenerContext context)
    {
        var response = context.Response;
        if (context.Request.HttpMethod != "POST" || context.Request.Url?.AbsolutePath != "/v1/traces")
        {
            response.StatusCode = 404;
            return;
        }

        _contentTypes.Enqueue(context.Request.ContentType ?? "");
        using var body = new MemoryStream();
        await context.Request.InputStream.CopyToAsync(body);
        foreach (var span in Decode(body.ToArray()))
        {
            _spans.Enqueue(span);
        }

        // An empty ExportTraceServiceResponse: everything accepted.
        response.StatusCode = 200;
        response.ContentType = "application/x-protobuf";
    }

    /// <summary>ExportTraceServiceRequest: resource_spans(1) { resource(1) { attributes(1) }, scope_spans(2) { scope(1) { name(1) }, spans(2) } }.</summary>
    private static IEnumerable<OtlpSpan> Decode(ReadOnlyMemory<byte> request)
    {
        foreach (var resourceSpans in Fields(request).Where(f => f.Field == 1))
        {
            var fields = Fields(resourceSpans.Bytes);
            var service = fields.Where(f => f.Field == 1).SelectMany(r => Fields(r.Bytes)).Where(a => a.Field == 1)
                .Select(Attribute).FirstOrDefault(a => a.Key == "service.name").Value ?? "";
            foreach (var scopeSpans in fields.Where(f => f.Field == 2))
            {
                var scopeFields = Fields(scopeSpans.Bytes);
                var scope = scopeFields.Where(f => f.Field == 1).Select(s => Text(Fields(s.Bytes), 1)).FirstOrDefault() ?? "";
                foreach (var span in scopeFields.Where(f => f.Field == 2))
                {
                    // Span: trace_id(1), span_id(2), parent_span_id(4), name(5), kind(6).
                    var s = Fields(span.Bytes);
                    yield return new OtlpSpan(service, scope, Hex(s, 1), Hex(s, 2), Hex(s, 4), Text(s, 5), (int)(s.FirstOrDefault(f => f.Field == 6).Value));
                }
            }
        }
    }

    /// <summary>KeyValue: key(1), value(2) { string_value(1) }.</summary>
    private static (string Key, string? Value) Attribute((int Field, ulong Value, ReadOnlyMemory<byte> Bytes) keyValue)
    {
        var fields = Fields(keyValue.Bytes);
        var value = fields.Where(f => f.Field == 2).Select(v => Text(Fields(v.Bytes), 1)).FirstOrDefault();
        return (Text(fields, 1), value);
    }

    private static string Text(List<(int Field, ulong Value, ReadOnlyMemory<byte> Bytes)> fields, int field) =>
        System.Text.Encoding.UTF8.GetString(fields.FirstOrDefault(f => f.Field == field).Bytes.Span);

    private static string Hex(List<(int Field, ulong Value, ReadOnlyMemory<byte> Bytes)> fields, int field) =>
        Convert.ToHexStringLower(fields.FirstOrDefault(f => f.Field == field).Bytes.Span);

    /// <summary>The fields of one protobuf message: varints as values, length-delimited ones as bytes; fixed ones skipped.</summary>
    private static List<(int Field, ulong Value, ReadOnlyMemory<byte> Bytes)> Fields(ReadOnlyMemory<byte> message)
    {
        var fields = new List<(int, ulong, ReadOnlyMemory<byte>)>();
        var bytes = message.Span;
        var i = 0;
        while (i < bytes.Length)
        {
            var key = Varint(bytes, ref i);
            var field = (int)(key >> 3);
            switch (key & 7)
            {
                case 0:
                    fields.Add((field, Varint(bytes, ref i), ReadOnlyMemory<byte>.Empty));
                    break;
                case 1:
                    i += 8;
                    break;
                case 2:
                    var length = (int)Varint(bytes, ref i);
                    fields.Add((field, 0, message.Slice(i, length)));
                    i += length;
                    break;
                case 5:
                    i += 4;
                    break;
                default:
                    throw new InvalidDataException($"Protobuf wire type {key & 7} at byte {i}.");
            }
        }

        return fields;
    }

    private static ulong Varint(ReadOnlySpan<byte> bytes, ref int i)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[i++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
