using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ControlPlane.Simulator.Fleet;

namespace ControlPlane.Simulator.Live;

/// <summary>A node as <c>GET /admin/v1/nodes</c> lists it: the fields the summary shows.</summary>
internal sealed record NodeSummary(string NodeId, string Region, string Status, string? Sku, int GpuCount, int HealthyGpuCount, string? InventoryError);

/// <summary>A region as <c>GET /admin/v1/pools</c> lists it.</summary>
internal sealed record PoolSummary(string Region, int GpusTotal, int GpusHealthy, IReadOnlyDictionary<string, int> NodesByStatus);

/// <summary>A call to the admin API that did not give the expected answer; the message says what it got.</summary>
internal sealed class AdminApiException(string message) : Exception(message);

/// <summary>The operator's side of the control plane's HTTP API, as far as the simulator needs it.</summary>
internal sealed class AdminClient(HttpClient http, Uri server, string operatorToken)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Uri Server => server;

    /// <summary>
    /// Enrolls <paramref name="node"/> and returns its agent token. The Idempotency-Key is the node id, so
    /// enrolling the same node again (a rerun against the same server) returns the same token.
    /// </summary>
    public async Task<string> EnrollAsync(NodeSpec node, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Post, "admin/v1/nodes");
        request.Headers.Add("Idempotency-Key", $"simulator:{node.NodeId}");
        request.Content = JsonContent.Create(
            new { node.NodeId, node.Region, node.Provider, node.Ownership, node.HourlyCostUsd },
            options: Json);
        using var response = await SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode == HttpStatusCode.Conflict)
        {
            throw new AdminApiException(
                $"node {node.NodeId} is already enrolled on {server} with other terms or without the simulator's Idempotency-Key, so its token cannot be had again; use a fresh server");
        }

        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw Unexpected(request, response, body);
        }

        var enrolled = JsonSerializer.Deserialize<EnrolledNode>(body, Json);
        return enrolled?.Token is { Length: > 0 } token
            ? token
            : throw new AdminApiException($"POST {request.RequestUri} answered 201 without a token: {body}");
    }

    /// <summary>
    /// POSTs <paramref name="body"/> to <paramref name="path"/> with <paramref name="token"/> (the operator's when null)
    /// and returns the answer's JSON; a status outside <paramref name="accepted"/> throws.
    /// </summary>
    public Task<JsonElement> PostAsync(string path, object body, CancellationToken cancellationToken, string? token = null, params HttpStatusCode[] accepted) =>
        SendJsonAsync(HttpMethod.Post, path, body, token, accepted, cancellationToken);

    /// <summary>PUTs <paramref name="body"/> to <paramref name="path"/> as the operator and returns the answer's JSON; a status other than 2xx throws.</summary>
    public Task<JsonElement> PutAsync(string path, object body, CancellationToken cancellationToken) =>
        SendJsonAsync(HttpMethod.Put, path, body, token: null, accepted: [], cancellationToken);

    /// <summary>GETs <paramref name="path"/> with <paramref name="token"/> (the operator's when null); a status other than 2xx throws.</summary>
    public Task<JsonElement> GetJsonAsync(string path, CancellationToken cancellationToken, string? token = null) =>
        SendJsonAsync(HttpMethod.Get, path, body: null, token, accepted: [], cancellationToken);

    /// <summary>GETs <paramref name="path"/> as the operator; null when it answers 404, and a status other than 2xx throws.</summary>
    public async Task<JsonElement?> FindJsonAsync(string path, CancellationToken cancellationToken)
    {
        var found = await SendJsonAsync(HttpMethod.Get, path, body: null, token: null, [HttpStatusCode.OK, HttpStatusCode.NotFound], cancellationToken, notFoundIsNull: true);
        return found.ValueKind == JsonValueKind.Undefined ? null : found;
    }

    /// <summary>GETs <paramref name="path"/> as text (<c>/metrics</c>); a status other than 2xx throws.</summary>
    public async Task<string> GetTextAsync(string path, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, path);
        using var response = await SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.IsSuccessStatusCode ? body : throw Unexpected(request, response, body);
    }

    public Task<NodeSummary[]> ListNodesAsync(CancellationToken cancellationToken) =>
        GetAsync<NodeSummary[]>("admin/v1/nodes", cancellationToken);

    public Task<PoolSummary[]> ListPoolsAsync(CancellationToken cancellationToken) =>
        GetAsync<PoolSummary[]>("admin/v1/pools", cancellationToken);

    private async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, path);
        using var response = await SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw Unexpected(request, response, body);
        }

        try
        {
            return JsonSerializer.Deserialize<T>(body, Json) ?? throw new AdminApiException($"GET {request.RequestUri} answered null");
        }
        catch (JsonException e)
        {
            throw new AdminApiException($"GET {request.RequestUri} answered what the simulator does not understand: {e.Message}");
        }
    }

    private async Task<JsonElement> SendJsonAsync(
        HttpMethod method, string path, object? body, string? token, HttpStatusCode[] accepted, CancellationToken cancellationToken, bool notFoundIsNull = false)
    {
        using var request = Request(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }

        using var response = await SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!(accepted.Length == 0 ? response.IsSuccessStatusCode : accepted.Contains(response.StatusCode)))
        {
            throw Unexpected(request, response, text);
        }

        if (text.Length == 0 || (notFoundIsNull && response.StatusCode == HttpStatusCode.NotFound))
        {
            return default;
        }

        try
        {
            return JsonSerializer.Deserialize<JsonElement>(text, Json);
        }
        catch (JsonException e)
        {
            throw new AdminApiException($"{request.Method} {request.RequestUri} answered what the simulator does not understand: {e.Message}");
        }
    }

    private HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(server, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", operatorToken);
        return request;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new AdminApiException($"cannot reach {server}: {e.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AdminApiException($"no answer from {server} within {http.Timeout.TotalSeconds:0} s");
        }
    }

    private static AdminApiException Unexpected(HttpRequestMessage request, HttpResponseMessage response, string body)
    {
        var hint = response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? " (is the operator token right?)" : "";
        var text = body.Trim();
        return new AdminApiException(
            $"{request.Method} {request.RequestUri} answered {(int)response.StatusCode} {response.ReasonPhrase}{hint}: {(text.Length > 300 ? text[..300] + "..." : text)}");
    }

    private sealed record EnrolledNode(string? NodeId, string? Token);
}
