using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace ControlPlane.NodeAgent.Heartbeats;

/// <summary>
/// The node's own token when it is kept in a file (<c>--node-token-file</c>): read at start; when the file is missing,
/// obtained by enrolling with the join token (<c>--join-token</c>) and written there, readable by the agent's user only.
/// When the server refuses the token (an operator revoked or rotated it), <see cref="RenewAsync"/> reads the file again
/// (an operator may have put the new token there) and otherwise enrols once more with the join token, once until a
/// heartbeat is accepted again.
/// </summary>
internal sealed class NodeIdentity(HttpClient http, IReadOnlyList<Uri> servers, string nodeId, string tokenFile, string? joinToken, AgentLog log, TimeProvider time)
{
    private bool _renewTried;

    public string TokenFile => tokenFile;

    /// <summary>
    /// The node token: the file's, or a new one from enrolling (retried while no server answers, with one idempotency
    /// key so that a retry is not counted as another use of the join token). Null when there is none to be had: the
    /// reason is logged.
    /// </summary>
    /// <param name="attempted">
    /// Called after each enrolment attempt that will be retried (the liveness file's touch): an agent waiting for a server
    /// that is not up yet is alive, not stuck.
    /// </param>
    public async Task<string?> ObtainAsync(CancellationToken cancellationToken, Action? attempted = null)
    {
        if (Read() is { } stored)
        {
            log.Info($"node token read from {tokenFile}");
            return stored;
        }

        if (joinToken is null)
        {
            log.Error($"no node token in {tokenFile} and no --join-token to enrol with: give a join token, or write the node's token (POST /admin/v1/nodes/{nodeId}/token) to the file");
            return null;
        }

        var key = "agent-" + Guid.NewGuid().ToString("N");
        var backoff = new Backoff();
        for (var attempt = 0; ; attempt++)
        {
            var server = servers[attempt % servers.Count];
            var (token, error, retry) = await EnrolAsync(server, key, cancellationToken);
            if (token is not null)
            {
                return Save(token);
            }

            if (!retry)
            {
                log.Error($"enrolment of node {nodeId} refused: {error}");
                return null;
            }

            var delay = backoff.NextDelay(HeartbeatLoop.DefaultInterval, servers.Count);
            log.Warn($"enrolment of node {nodeId} failed (attempt {attempt + 1}): {error}; retrying in {delay.TotalSeconds:0.0} s");
            attempted?.Invoke();
            await Task.Delay(delay, time, cancellationToken);
        }
    }

    /// <summary>After the server refused <paramref name="refused"/> (401): a token to try instead, or null.</summary>
    public async Task<string?> RenewAsync(string refused, CancellationToken cancellationToken)
    {
        if (Read() is { } stored && stored != refused)
        {
            log.Info($"node token refused; {tokenFile} holds another one: using it");
            return stored;
        }

        if (joinToken is null || _renewTried)
        {
            log.Error(joinToken is null
                ? $"node token refused (revoked or rotated by an operator?): write the node's new token (POST /admin/v1/nodes/{nodeId}/token) to {tokenFile}, or give --join-token"
                : $"node token refused again after enrolling with the join token: an operator must issue node {nodeId} a token (POST /admin/v1/nodes/{nodeId}/token) into {tokenFile}");
            return null;
        }

        _renewTried = true;
        log.Warn($"node token refused (revoked or rotated by an operator?): enrolling node {nodeId} again with the join token");
        foreach (var server in servers)
        {
            var (token, error, retry) = await EnrolAsync(server, "agent-" + Guid.NewGuid().ToString("N"), cancellationToken);
            if (token is not null)
            {
                return Save(token);
            }

            log.Error($"enrolling node {nodeId} again failed: {error}");
            if (!retry)
            {
                break;
            }
        }

        return null;
    }

    /// <summary>A heartbeat was accepted: a later refusal may enrol again.</summary>
    public void Accepted() => _renewTried = false;

    private async Task<(string? Token, string? Error, bool Retry)> EnrolAsync(Uri server, string key, CancellationToken cancellationToken)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(new EnrolRequest(nodeId), AgentJsonContext.Default.EnrolRequest));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server, "agent/v1/enrol")) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", joinToken);
        request.Headers.Add("Idempotency-Key", key);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            var status = $"{(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
            if (response.IsSuccessStatusCode)
            {
                var reply = JsonSerializer.Deserialize(body, AgentJsonContext.Default.EnrolReply);
                return reply?.Token is { Length: > 0 } token && !token.Any(char.IsWhiteSpace)
                    ? (token, null, false)
                    : (null, $"{server} answered {status} without a token", false);
            }

            var problem = JsonSerializer.Deserialize(string.IsNullOrWhiteSpace(body) ? "{}" : body, AgentJsonContext.Default.ProblemDetailsReply);
            var text = problem?.Detail ?? problem?.Title;
            var described = $"{server} answered {status}{(string.IsNullOrWhiteSpace(text) ? "" : ": " + text)}";
            return (null, described, response.StatusCode is HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500);
        }
        catch (HttpRequestException e)
        {
            return (null, $"cannot reach {server}: {e.Message}", true);
        }
        catch (JsonException e)
        {
            return (null, $"{server} answered with a body that is not JSON: {e.Message}", true);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"no answer from {server}", true);
        }
    }

    private string? Read()
    {
        try
        {
            var text = File.ReadAllText(tokenFile).Trim();
            return text.Length > 0 ? text : null;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Writes the token where a crash leaves either the old file or the new one, never half of it, and only the agent's user can read it.</summary>
    private string Save(string token)
    {
        var path = Path.GetFullPath(tokenFile);
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(System.Text.Encoding.ASCII.GetBytes(token + "\n"));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Error($"node {nodeId} enrolled, but its token cannot be written to {tokenFile} ({e.Message}): it is kept for this run only");
            return token;
        }
        finally
        {
            File.Delete(temporary);
        }

        log.Info($"node {nodeId} enrolled; its token is kept in {tokenFile}");
        return token;
    }
}
