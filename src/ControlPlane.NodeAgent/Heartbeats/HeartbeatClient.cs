using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ControlPlane.NodeAgent.Cli;

namespace ControlPlane.NodeAgent.Heartbeats;

/// <summary>
/// Sends one heartbeat to the current server of its list and sorts the answer into what the loop must do next;
/// <see cref="FailOver"/> moves on to the next server (the silos of one control plane, any of which takes any node's heartbeats).
/// </summary>
internal sealed class HeartbeatClient
{
    /// <summary>The longest one heartbeat request may take, connection included; the loop asks for less (<see cref="RequestTimeout"/>).</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan ShortestRequestTimeout = TimeSpan.FromSeconds(1);

    private readonly HttpClient _http;
    private readonly Uri[] _servers;
    private readonly string _nodeId;
    private int _current;

    /// <param name="first">The index of the server to start with (see <see cref="StartIndex"/>).</param>
    public HeartbeatClient(HttpClient http, IReadOnlyList<Uri> servers, string nodeId, string token, int first = 0)
    {
        if (servers.Count == 0)
        {
            throw new ArgumentException("At least one server is needed.", nameof(servers));
        }

        _http = http;
        _servers = [.. servers];
        _nodeId = nodeId;
        Token = token;
        _current = ((first % _servers.Length) + _servers.Length) % _servers.Length;
    }

    public HeartbeatClient(HttpClient http, Uri server, string nodeId, string token)
        : this(http, [server], nodeId, token)
    {
    }

    /// <summary>The node token heartbeats carry; replaced when the agent obtains a new one.</summary>
    public string Token { get; set; }

    /// <summary>How many servers the client fails over between.</summary>
    public int ServerCount => _servers.Length;

    /// <summary>The server heartbeats go to now.</summary>
    public Uri Server => _servers[_current];

    public Uri Endpoint => new(Server, $"agent/v1/nodes/{Uri.EscapeDataString(_nodeId)}/heartbeat");

    /// <summary>
    /// A server to start with that spreads nodes over the list but stays the same for a node (FNV-1a of its id), so
    /// that agents listing every silo do not all start on the first.
    /// </summary>
    public static int StartIndex(string nodeId, int servers)
    {
        var hash = 2166136261u;
        foreach (var c in nodeId)
        {
            hash = unchecked((hash ^ c) * 16777619u);
        }

        return (int)(hash % (uint)Math.Max(servers, 1));
    }

    /// <summary>
    /// How long a heartbeat may wait for its answer at <paramref name="interval"/>: four fifths of the interval (1 to
    /// 10 s), so that a request stuck on a dead server leaves time to try another within the node's suspect window.
    /// </summary>
    public static TimeSpan RequestTimeout(TimeSpan interval)
    {
        var timeout = interval * 0.8;
        return timeout < ShortestRequestTimeout ? ShortestRequestTimeout : timeout > DefaultRequestTimeout ? DefaultRequestTimeout : timeout;
    }

    /// <summary>Moves on to the next server of the list; false when there is only one.</summary>
    public bool FailOver()
    {
        if (_servers.Length == 1)
        {
            return false;
        }

        _current = (_current + 1) % _servers.Length;
        return true;
    }

    public Task<HeartbeatResult> SendAsync(HeartbeatRequest heartbeat, CancellationToken cancellationToken) =>
        SendAsync(heartbeat, Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary>Sends one heartbeat to <see cref="Server"/>, waiting at most <paramref name="timeout"/> (and the HTTP client's own timeout).</summary>
    public async Task<HeartbeatResult> SendAsync(HeartbeatRequest heartbeat, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var server = Server;
        // Serialized up front so the request has a Content-Length rather than a chunked body.
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(heartbeat, AgentJsonContext.Default.HeartbeatRequest));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);

        HttpStatusCode statusCode;
        string status, body;
        TimeSpan? retryAfter;
        try
        {
            using var response = await _http.SendAsync(request, deadline.Token);
            statusCode = response.StatusCode;
            status = $"{(int)statusCode} {response.ReasonPhrase}".TrimEnd();
            retryAfter = RetryAfter(response);
            body = await response.Content.ReadAsStringAsync(deadline.Token);
        }
        catch (HttpRequestException e)
        {
            // "The SSL connection could not be established" says little without its inner exception.
            var cause = e.InnerException is { } inner && !e.Message.Contains(inner.Message, StringComparison.Ordinal)
                ? $"{e.Message} ({inner.Message})"
                : e.Message;
            return HeartbeatResult.Unavailable($"cannot reach {server}: {cause}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var waited = timeout < _http.Timeout ? timeout : _http.Timeout;
            return HeartbeatResult.Unavailable($"no answer from {server} within {waited.TotalSeconds:0.###} s");
        }

        if ((int)statusCode is >= 200 and < 300)
        {
            return ParseReply(body, status);
        }

        var problem = DescribeProblem(body);
        return statusCode switch
        {
            // 401: the token is not (or no longer) valid, e.g. an operator revoked or rotated it; 403: it is another node's.
            HttpStatusCode.Unauthorized => HeartbeatResult.Unauthorized(
                $"token rejected for node {_nodeId} ({status}{problem}); it may have been revoked or rotated: check --token, {AgentOptions.TokenVariable} or --node-token-file",
                tokenRefused: true),
            HttpStatusCode.Forbidden => HeartbeatResult.Unauthorized(
                $"token rejected for node {_nodeId} ({status}{problem}); check --token, {AgentOptions.TokenVariable} or --node-token-file"),
            HttpStatusCode.TooManyRequests => HeartbeatResult.Unavailable($"{server} is throttling heartbeats ({status}{problem})", retryAfter),
            >= HttpStatusCode.InternalServerError => HeartbeatResult.Unavailable($"{server} answered {status}{problem}", retryAfter),
            _ => HeartbeatResult.Rejected($"server rejected the heartbeat: {status}{problem}"),
        };
    }

    /// <summary>
    /// How long the server asked the agent to wait (<c>Retry-After</c>): seconds, or a date taken against the
    /// response's own <c>Date</c> (the server's clock on both sides, so the agent's clock does not matter).
    /// </summary>
    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        var wait = header?.Delta ?? (header?.Date is { } until && response.Headers.Date is { } now ? until - now : null);
        return wait > TimeSpan.Zero ? wait : null;
    }

    private static HeartbeatResult ParseReply(string body, string status)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return HeartbeatResult.Accepted(new HeartbeatReply(null, null));
        }

        try
        {
            var reply = JsonSerializer.Deserialize(body, AgentJsonContext.Default.HeartbeatReply);
            return HeartbeatResult.Accepted(reply ?? new HeartbeatReply(null, null));
        }
        catch (JsonException e)
        {
            return HeartbeatResult.Rejected($"server answered {status} with a body that is not a heartbeat reply: {e.Message}");
        }
    }

    private static string DescribeProblem(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return "";
        }

        try
        {
            var problem = JsonSerializer.Deserialize(body, AgentJsonContext.Default.ProblemDetailsReply);
            var text = problem?.Detail ?? problem?.Title;
            return string.IsNullOrWhiteSpace(text) ? "" : $": {text}";
        }
        catch (JsonException)
        {
            var text = body.Trim();
            return $": {(text.Length > 200 ? text[..200] + "..." : text)}";
        }
    }
}

/// <summary>What became of one heartbeat.</summary>
internal enum HeartbeatOutcome
{
    /// <summary>Taken; <see cref="HeartbeatResult.Reply"/> says when to send the next.</summary>
    Accepted,

    /// <summary>Server unreachable, failing (5xx) or throttling (429): try the next server, back off.</summary>
    Unavailable,

    /// <summary>401/403: the token is wrong; retry slowly until an operator fixes it.</summary>
    Unauthorized,

    /// <summary>Any other 4xx: the server read the heartbeat and refused it; try again at the normal interval.</summary>
    Rejected,
}

/// <param name="RetryAfter">The server's <c>Retry-After</c> on a 503 or 429: wait at least this long.</param>
/// <param name="TokenRefused">A 401: the server does not take the token (any more); a new one may help, unlike for a 403.</param>
internal sealed record HeartbeatResult(HeartbeatOutcome Outcome, HeartbeatReply? Reply, string? Message, TimeSpan? RetryAfter = null, bool TokenRefused = false)
{
    public static HeartbeatResult Accepted(HeartbeatReply reply) => new(HeartbeatOutcome.Accepted, reply, null);

    public static HeartbeatResult Unavailable(string message, TimeSpan? retryAfter = null) => new(HeartbeatOutcome.Unavailable, null, message, retryAfter);

    public static HeartbeatResult Unauthorized(string message, bool tokenRefused = false) => new(HeartbeatOutcome.Unauthorized, null, message, TokenRefused: tokenRefused);

    public static HeartbeatResult Rejected(string message) => new(HeartbeatOutcome.Rejected, null, message);
}
