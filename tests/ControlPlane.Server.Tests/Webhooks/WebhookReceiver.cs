using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Webhooks;

/// <summary>
/// A customer's webhook endpoint on a loopback port: it records every request it gets and answers 503 to the first
/// <see cref="FailFirst"/> of them (or while <see cref="Refusing"/>), then 200.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly LoopbackHttpServer _server;
    private int _seen;

    public WebhookReceiver(int failFirst = 0)
    {
        FailFirst = failFirst;
        _server = LoopbackHttpServer.Start(HandleAsync);
    }

    public string Url => _server.BaseAddress + "/hooks/controlplane";

    public int FailFirst { get; }

    /// <summary>While true every request is answered 503.</summary>
    public volatile bool Refusing;

    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>The requests answered 200, one per event id (the first).</summary>
    public IReadOnlyList<Received> Accepted => Requests.Where(r => r.Status == 200).ToList();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task HandleAsync(HttpListenerContext context)
    {
        using var body = new MemoryStream();
        await context.Request.InputStream.CopyToAsync(body);
        var status = Interlocked.Increment(ref _seen) <= FailFirst || Refusing ? 503 : 200;
        Requests.Enqueue(new Received(
            context.Request.HttpMethod,
            context.Request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => context.Request.Headers[k]!, StringComparer.OrdinalIgnoreCase),
            body.ToArray(),
            status));
        context.Response.StatusCode = status;
    }

    public sealed record Received(string Method, IReadOnlyDictionary<string, string> Headers, byte[] Body, int Status)
    {
        public string EventId => Headers["ControlPlane-Event-Id"];

        public string Kind => Headers["ControlPlane-Event-Kind"];

        public JsonNode Json => JsonNode.Parse(Encoding.UTF8.GetString(Body))!;
    }
}
