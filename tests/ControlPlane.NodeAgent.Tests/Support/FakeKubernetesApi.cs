using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace ControlPlane.NodeAgent.Tests.Support;

/// <summary>
/// A stand-in for the Kubernetes API server on 127.0.0.1, over real HTTP: the few pod endpoints the agent calls (create,
/// get, list by label, delete) on one namespace, pods kept as JSON. The test plays the kubelet: it sets a pod's status.
/// It also answers POSTs to any other path (an engine's sleep and wake endpoints, when a pod's IP is 127.0.0.1 and the
/// engine port is this server's).
/// </summary>
internal sealed class FakeKubernetesApi : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly Task _serving;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, JsonObject> _pods = new(StringComparer.Ordinal);
    private readonly List<RecordedRequest> _requests = [];

    private FakeKubernetesApi(HttpListener listener, Uri baseAddress, string @namespace)
    {
        _listener = listener;
        BaseAddress = baseAddress;
        Namespace = @namespace;
        _serving = Task.Run(ServeAsync);
    }

    public Uri BaseAddress { get; }

    public int Port => BaseAddress.Port;

    public string Namespace { get; }

    /// <summary>While true, a deleted pod stays (terminating, with a deletionTimestamp) until <see cref="Remove"/>; else it goes at once.</summary>
    public bool HoldDeletes { get; set; }

    /// <summary>The status code a create answers instead of creating (e.g. 403); null creates.</summary>
    public HttpStatusCode? RefuseCreate { get; set; }

    /// <summary>While true, reading a pod answers 200 with a body that is not JSON (a proxy's error page).</summary>
    public bool GarbageGets { get; set; }

    /// <summary>What an engine endpoint (any POST outside the API) answers.</summary>
    public HttpStatusCode EngineAnswer { get; set; } = HttpStatusCode.OK;

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    public static FakeKubernetesApi Start(string @namespace = "gpu")
    {
        for (var attempt = 1; ; attempt++)
        {
            var baseAddress = new Uri($"http://127.0.0.1:{HeartbeatTestServer.FreePort()}/");
            var listener = new HttpListener();
            listener.Prefixes.Add(baseAddress.AbsoluteUri);
            try
            {
                listener.Start();
                return new FakeKubernetesApi(listener, baseAddress, @namespace);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    /// <summary>A copy of the pod, or null.</summary>
    public JsonObject? Pod(string name)
    {
        lock (_gate)
        {
            return _pods.TryGetValue(name, out var pod) ? (JsonObject)pod.DeepClone() : null;
        }
    }

    public IReadOnlyList<string> PodNames
    {
        get
        {
            lock (_gate)
            {
                return [.. _pods.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Stores a pod as if someone had created it (e.g. an earlier agent process).</summary>
    public void Put(JsonObject pod)
    {
        lock (_gate)
        {
            _pods[pod["metadata"]!["name"]!.GetValue<string>()] = (JsonObject)pod.DeepClone();
        }
    }

    /// <summary>Plays the kubelet: replaces the pod's status.</summary>
    public void SetStatus(string name, JsonObject status)
    {
        lock (_gate)
        {
            _pods[name]["status"] = status;
        }
    }

    /// <summary>The pod is gone (its containers ended, or someone deleted it outside the agent).</summary>
    public void Remove(string name)
    {
        lock (_gate)
        {
            _pods.Remove(name);
        }
    }

    public static JsonObject Running(bool ready, string podIp = "127.0.0.1") => new()
    {
        ["phase"] = "Running",
        ["podIP"] = podIp,
        ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready ? "True" : "False" }),
        ["containerStatuses"] = new JsonArray(new JsonObject
        {
            ["name"] = "engine",
            ["ready"] = ready,
            ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = "2026-01-01T00:00:00Z" } },
        }),
    };

    public async ValueTask DisposeAsync()
    {
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

            try
            {
                await AnswerAsync(context);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
            {
                // The client went away.
            }
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var path = request.Url!.AbsolutePath;
        string body;
        using (var reader = new StreamReader(request.InputStream, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync();
        }

        lock (_gate)
        {
            _requests.Add(new RecordedRequest(request.HttpMethod, request.Url.PathAndQuery, request.Headers["Authorization"], body));
        }

        var podsPath = $"/api/v1/namespaces/{Namespace}/pods";
        (HttpStatusCode Code, JsonNode? Body) answer;
        if (!path.StartsWith("/api/", StringComparison.Ordinal))
        {
            answer = request.HttpMethod == "POST" ? (EngineAnswer, null) : (HttpStatusCode.NotFound, null);
        }
        else if (path == podsPath && request.HttpMethod == "POST")
        {
            answer = Create(JsonNode.Parse(body)!.AsObject());
        }
        else if (path == podsPath && request.HttpMethod == "GET")
        {
            answer = (HttpStatusCode.OK, List(request.QueryString["labelSelector"]));
        }
        else if (path.StartsWith(podsPath + "/", StringComparison.Ordinal))
        {
            var name = Uri.UnescapeDataString(path[(podsPath.Length + 1)..]);
            answer = request.HttpMethod switch
            {
                "GET" => Pod(name) is { } pod ? (HttpStatusCode.OK, pod) : NotFound(name),
                "DELETE" => Delete(name),
                _ => (HttpStatusCode.MethodNotAllowed, null),
            };
        }
        else
        {
            answer = (HttpStatusCode.NotFound, Status(404, "NotFound", $"no such path {path}"));
        }

        var response = context.Response;
        response.StatusCode = (int)answer.Code;
        var text = GarbageGets && request.HttpMethod == "GET" && path.StartsWith(podsPath + "/", StringComparison.Ordinal)
            ? "<html>bad gateway</html>"
            : answer.Body?.ToJsonString();
        if (text is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            response.ContentType = "application/json";
            response.ContentLength64 = bytes.Length;
            await response.OutputStream.WriteAsync(bytes);
        }

        response.Close();
    }

    private (HttpStatusCode, JsonNode?) Create(JsonObject pod)
    {
        if (RefuseCreate is { } refusal)
        {
            return (refusal, Status((int)refusal, refusal.ToString(), "pods is forbidden: User \"system:serviceaccount:gpu:agent\" cannot create resource \"pods\""));
        }

        var name = pod["metadata"]!["name"]!.GetValue<string>();
        lock (_gate)
        {
            if (_pods.ContainsKey(name))
            {
                return (HttpStatusCode.Conflict, Status(409, "AlreadyExists", $"pods \"{name}\" already exists"));
            }

            pod["metadata"]!["uid"] = Guid.NewGuid().ToString();
            pod["status"] = new JsonObject { ["phase"] = "Pending" };
            _pods[name] = pod;
            return (HttpStatusCode.Created, pod.DeepClone());
        }
    }

    private (HttpStatusCode, JsonNode?) Delete(string name)
    {
        lock (_gate)
        {
            if (!_pods.TryGetValue(name, out var pod))
            {
                return NotFound(name);
            }

            if (HoldDeletes)
            {
                pod["metadata"]!["deletionTimestamp"] = "2026-01-01T00:00:00Z";
            }
            else
            {
                _pods.Remove(name);
            }

            return (HttpStatusCode.OK, pod.DeepClone());
        }
    }

    private JsonObject List(string? selector)
    {
        var wanted = (selector ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => s.Split('=', 2)).ToArray();
        lock (_gate)
        {
            var items = _pods.Values
                .Where(p => wanted.All(w => p["metadata"]?["labels"]?[w[0]]?.GetValue<string>() == w[1]))
                .Select(p => p.DeepClone())
                .ToArray();
            return new JsonObject { ["kind"] = "PodList", ["apiVersion"] = "v1", ["items"] = new JsonArray(items) };
        }
    }

    private static (HttpStatusCode, JsonNode?) NotFound(string name) =>
        (HttpStatusCode.NotFound, Status(404, "NotFound", $"pods \"{name}\" not found"));

    private static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    /// <param name="PathAndQuery">As sent, e.g. <c>/api/v1/namespaces/gpu/pods?labelSelector=...</c>.</param>
    /// <param name="Authorization">The Authorization header, e.g. <c>Bearer abc</c>.</param>
    public sealed record RecordedRequest(string Method, string PathAndQuery, string? Authorization, string Body);
}
