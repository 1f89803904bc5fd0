using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace ControlPlane.NodeAgent.Replicas.Kubernetes;

/// <summary>
/// The few pod calls the agent makes to the Kubernetes API, over plain HTTP(S): the agent takes no client library.
/// Pods are read and written as JSON trees (<see cref="JsonNode"/>), which need no reflection.
/// </summary>
/// <remarks>
/// The service-account token is read again for every request: the kubelet rotates the projected token file (about
/// hourly), and an agent that read it once would be refused an hour after it started.
/// </remarks>
internal sealed class KubernetesApi(HttpClient http, Uri server, string tokenFile, string @namespace)
{
    /// <summary>How long one API call may take.</summary>
    /// <value>15 s: the API server answers pod calls in milliseconds; more is a server or network in trouble.</value>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);

    public string Namespace { get; } = @namespace;

    /// <summary>An HTTP client for the API server at <paramref name="server"/>, trusting only the CA in <paramref name="caFile"/> (when given).</summary>
    public static HttpClient CreateHttpClient(Uri server, string? caFile)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (server.Scheme == Uri.UriSchemeHttps && caFile is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                TrustedByCluster(certificate, errors, roots);
        }

        return new HttpClient(handler) { Timeout = RequestTimeout };
    }

    /// <summary>Creates a pod; null when it was created, else the status code (409: a pod of that name exists).</summary>
    public async Task<HttpStatusCode?> CreatePodAsync(JsonObject pod, CancellationToken cancellation)
    {
        using var request = await RequestAsync(HttpMethod.Post, PodsPath(), cancellation);
        request.Content = new StringContent(pod.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request, cancellation);
        if (response.IsSuccessStatusCode)
        {
            return null;
        }

        if (response.StatusCode == HttpStatusCode.Conflict)
        {
            return HttpStatusCode.Conflict;
        }

        throw await FailureAsync(response, $"creating pod {pod["metadata"]?["name"]}", cancellation);
    }

    /// <summary>The pod, or null when there is none of that name.</summary>
    public async Task<JsonObject?> GetPodAsync(string name, CancellationToken cancellation)
    {
        using var request = await RequestAsync(HttpMethod.Get, PodsPath(name), cancellation);
        using var response = await http.SendAsync(request, cancellation);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await FailureAsync(response, $"reading pod {name}", cancellation);
        }

        return Parse(await response.Content.ReadAsStringAsync(cancellation), $"reading pod {name}") as JsonObject
            ?? throw new KubernetesApiException($"reading pod {name}: the answer is not a JSON object");
    }

    /// <summary>The namespace's pods that carry every label of <paramref name="labelSelector"/> (<c>key=value,...</c>).</summary>
    public async Task<IReadOnlyList<JsonObject>> ListPodsAsync(string labelSelector, CancellationToken cancellation)
    {
        using var request = await RequestAsync(HttpMethod.Get, $"{PodsPath()}?labelSelector={Uri.EscapeDataString(labelSelector)}", cancellation);
        using var response = await http.SendAsync(request, cancellation);
        if (!response.IsSuccessStatusCode)
        {
            throw await FailureAsync(response, "listing pods", cancellation);
        }

        var list = Parse(await response.Content.ReadAsStringAsync(cancellation), "listing pods");
        return list?["items"] is JsonArray items ? [.. items.OfType<JsonObject>()] : [];
    }

    /// <summary>Deletes a pod, giving its containers <paramref name="gracePeriod"/> after SIGTERM; false when there was none.</summary>
    public async Task<bool> DeletePodAsync(string name, TimeSpan gracePeriod, CancellationToken cancellation)
    {
        using var request = await RequestAsync(HttpMethod.Delete, $"{PodsPath(name)}?gracePeriodSeconds={(long)gracePeriod.TotalSeconds}", cancellation);
        using var response = await http.SendAsync(request, cancellation);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await FailureAsync(response, $"deleting pod {name}", cancellation);
        }

        return true;
    }

    private static JsonNode? Parse(string json, string what)
    {
        try
        {
            return JsonNode.Parse(json);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new KubernetesApiException($"{what}: the answer is not JSON: {e.Message}");
        }
    }

    private static bool TrustedByCluster(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        // A wrong host name is never accepted; only the chain is judged against the cluster's CA instead of the system's.
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    private static async Task<KubernetesApiException> FailureAsync(HttpResponseMessage response, string what, CancellationToken cancellation)
    {
        // The API server explains itself in a Status object: its message says what was wrong (a forbidden verb, an invalid field).
        string? message = null;
        try
        {
            message = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellation))?["message"]?.GetValue<string>();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
        }

        return new KubernetesApiException($"{what}: {(int)response.StatusCode} {response.ReasonPhrase}{(message is null ? "" : $": {message}")}", response.StatusCode);
    }

    private string PodsPath(string? name = null) =>
        $"api/v1/namespaces/{Uri.EscapeDataString(Namespace)}/pods{(name is null ? "" : "/" + Uri.EscapeDataString(name))}";

    private async Task<HttpRequestMessage> RequestAsync(HttpMethod method, string path, CancellationToken cancellation)
    {
        var request = new HttpRequestMessage(method, new Uri(server, path));
        var token = (await File.ReadAllTextAsync(tokenFile, cancellation)).Trim();
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return request;
    }
}

/// <summary>The API server refused a call, or answered what the agent cannot read.</summary>
internal sealed class KubernetesApiException(string message, HttpStatusCode? status = null) : Exception(message)
{
    public HttpStatusCode? Status { get; } = status;
}
