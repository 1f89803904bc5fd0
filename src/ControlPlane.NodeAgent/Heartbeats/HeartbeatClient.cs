using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ControlPlane.NodeAgent.Cli;

namespace ControlPlane.NodeAgent.Heartbeats;

/// <summary>Sends one heartbeat and sorts the answer into what the loop must do next.</summary>
internal sealed class HeartbeatClient(HttpClient http, Uri server, string nodeId, string token)
{
    /// <summary>How long one heartbeat request may take, connection included.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(10);

    public Uri Endpoint { get; } = new(server, $"agent/v1/nodes/{Uri.EscapeDataString(nodeId)}/heartbeat");

    public async Task<HeartbeatResult> SendAsync(HeartbeatRequest heartbeat, CancellationToken cancellationToken)
    {
        // Serialized up front so the request has a Content-Length rather than a chunked body.
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(heartbeat, AgentJsonContext.Default.HeartbeatRequest));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

        HttpStatusCode statusCode;
        string status, body;
        TimeSpan? retryAfter;
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            statusCode = response.StatusCode;
            status = $"{(int)statusCode} {response.ReasonPhrase}".TrimEnd();
            retryAfter = RetryAfter(response);
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException e)
        {
            // "The SSL connection could not be established" says little without its inner exception.
            var cause = e.InnerException is { } inner && !e.Message.Contains(inner.Message, StringComparison.Ordinal)
                ? $"{e.Message} ({inner.Message})"
                : e.Message;
            return HeartbeatResult.Unavailable($"cannot reach {server}: {cause}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HeartbeatResult.Unavailable($"no answer from {server} within {http.Timeout.TotalSeconds:0.###} s");
        }

        if ((int)statusCode is >= 200 and < 300)
        {
            return ParseReply(body, status);
        }

        var problem = DescribeProblem(body);
        return statusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => HeartbeatResult.Unauthorized(
                $"token rejected for node {nodeId} ({status}{problem}); check --token or {AgentOptions.TokenVariable}"),
            HttpStatusCode.TooManyRequests => HeartbeatResult.Unavailable($"server is throttling heartbeats ({status}{problem})", retryAfter),
            >= HttpStatusCode.InternalServerError => HeartbeatResult.Unavailable($"server error {status}{problem}", retryAfter),
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

    /// <summary>Server unreachable, failing (5xx) or throttling (429): back off.</summary>
    Unavailable,

    /// <summary>401/403: the token is wrong; retry slowly until an operator fixes it.</summary>
    Unauthorized,

    /// <summary>Any other 4xx: the server read the heartbeat and refused it; try again at the normal interval.</summary>
    Rejected,
}

/// <param name="RetryAfter">How long the server asked to wait before the next attempt (429 or 503 with <c>Retry-After</c>).</param>
internal sealed record HeartbeatResult(HeartbeatOutcome Outcome, HeartbeatReply? Reply, string? Message, TimeSpan? RetryAfter = null)
{
    public static HeartbeatResult Accepted(HeartbeatReply reply) => new(HeartbeatOutcome.Accepted, reply, null);

    public static HeartbeatResult Unavailable(string message, TimeSpan? retryAfter = null) => new(HeartbeatOutcome.Unavailable, null, message, retryAfter);

    public static HeartbeatResult Unauthorized(string message) => new(HeartbeatOutcome.Unauthorized, null, message);

    public static HeartbeatResult Rejected(string message) => new(HeartbeatOutcome.Rejected, null, message);
}
