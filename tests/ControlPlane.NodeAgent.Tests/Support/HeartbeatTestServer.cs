using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace ControlPlane.NodeAgent.Tests.Support;

/// <summary>A real HTTP server on 127.0.0.1 that records heartbeats and answers as the test scripts it.</summary>
internal sealed class HeartbeatTestServer : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly Channel<ReceivedHeartbeat> _received = Channel.CreateUnbounded<ReceivedHeartbeat>();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _serving;
    private int _count;

    private HeartbeatTestServer(HttpListener listener, Uri baseAddress)
    {
        _listener = listener;
        BaseAddress = baseAddress;
        _serving = Task.Run(ServeAsync);
    }

    public Uri BaseAddress { get; }

    /// <summary>The answer to the heartbeat with the given number (1 for the first received).</summary>
    public Func<int, TestResponse> Respond { get; set; } = _ => TestResponse.Ok(intervalSeconds: 5);

    public static HeartbeatTestServer Start()
    {
        // Another process may take the free port between probing and binding; try a few.
        for (var attempt = 1; ; attempt++)
        {
            var baseAddress = new Uri($"http://127.0.0.1:{FreePort()}/");
            var listener = new HttpListener();
            listener.Prefixes.Add(baseAddress.AbsoluteUri);
            try
            {
                listener.Start();
                return new HeartbeatTestServer(listener, baseAddress);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    /// <summary>A loopback port nothing listens on (connections to it are refused).</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>The next heartbeat received, waiting for it if none is pending.</summary>
    public async Task<ReceivedHeartbeat> NextAsync() => await _received.Reader.ReadAsync().AsTask().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        _stopped.TrySetResult();
        _listener.Close();
        await _serving;
    }

    private async Task ServeAsync()
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = HandleAsync(context);
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        try
        {
            var number = Interlocked.Increment(ref _count);
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            _received.Writer.TryWrite(new ReceivedHeartbeat(
                context.Request.HttpMethod,
                context.Request.RawUrl ?? "",
                context.Request.Headers["Authorization"],
                context.Request.ContentType,
                context.Request.ContentLength64,
                JsonDocument.Parse(body).RootElement.Clone(),
                context.Request.Headers["Idempotency-Key"]));

            var response = Respond(number);
            if (response.Never)
            {
                await _stopped.Task;
                return;
            }

            context.Response.StatusCode = response.Status;
            if (response.RetryAfterSeconds is { } retryAfter)
            {
                context.Response.AddHeader("Retry-After", retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            foreach (var (name, value) in response.Headers ?? [])
            {
                context.Response.AddHeader(name, value);
            }

            if (response.Body is not null)
            {
                context.Response.ContentType = response.ContentType;
                var bytes = Encoding.UTF8.GetBytes(response.Body);
                await context.Response.OutputStream.WriteAsync(bytes);
            }

            context.Response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException or InvalidOperationException)
        {
            // The client went away or the server is stopping.
        }
    }
}

internal sealed record ReceivedHeartbeat(string Method, string Path, string? Authorization, string? ContentType, long ContentLength, JsonElement Body, string? IdempotencyKey = null)
{
    public long Sequence => Body.GetProperty("sequence").GetInt64();

    public Guid SessionId => Body.GetProperty("agentSessionId").GetGuid();

    /// <summary>The reported replicas as <c>id=state</c>, in the order sent.</summary>
    public IReadOnlyList<string> Replicas =>
        [.. Body.GetProperty("replicas").EnumerateArray().Select(r => $"{r.GetProperty("replicaId").GetString()}={r.GetProperty("state").GetString()}")];
}

internal sealed record TestResponse(int Status, string? Body, string ContentType = "application/json", bool Never = false, int? RetryAfterSeconds = null)
{
    /// <summary>Response headers to send besides the content type.</summary>
    public IReadOnlyList<(string Name, string Value)>? Headers { get; init; }

    public static TestResponse Ok(int intervalSeconds) =>
        new(200, $$"""{"heartbeatIntervalSeconds": {{intervalSeconds}}, "desired": []}""");

    /// <summary>A reply that asks for the given replicas, each on GPU i for the i-th one, of deployment "dep-1" and model "model-a".</summary>
    public static TestResponse Desired(int intervalSeconds, params string[] replicaIds) =>
        OkWithDesired(intervalSeconds, string.Join(", ", replicaIds.Select((id, i) => DesiredJson(id, i))));

    /// <summary>A reply whose <c>desired</c> array holds <paramref name="entriesJson"/> as given.</summary>
    public static TestResponse OkWithDesired(int intervalSeconds, string entriesJson) =>
        new(200, $$"""{"heartbeatIntervalSeconds": {{intervalSeconds}}, "desired": [{{entriesJson}}]}""");

    public static string DesiredJson(string replicaId, int gpu) =>
        $$"""{"replicaId": "{{replicaId}}", "deploymentId": "dep-1", "model": "model-a", "gpuIndices": [{{gpu}}]}""";

    public static TestResponse Problem(int status, string title, string detail) =>
        new(status, $$"""{"type": "about:blank", "title": "{{title}}", "status": {{status}}, "detail": "{{detail}}"}""", "application/problem+json");

    /// <summary>Never answers: the request stays in flight until the client gives up.</summary>
    public static TestResponse NoAnswer { get; } = new(0, null, Never: true);
}
