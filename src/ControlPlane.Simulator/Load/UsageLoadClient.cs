using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ControlPlane.Simulator.Live;

namespace ControlPlane.Simulator.Load;

/// <summary>Orleans' grain-storage write counters for one state, read from a silo's <c>/metrics</c>.</summary>
internal sealed record StateWriteCounters(long Writes, double TotalMilliseconds)
{
    /// <summary>Sums <c>orleans_storage_write_latency_milliseconds_{count,sum}</c> over the series of <paramref name="stateName"/>; null when there are none.</summary>
    public static StateWriteCounters? Parse(string prometheusText, string stateName)
    {
        long writes = 0;
        double milliseconds = 0;
        var found = false;
        var label = $"state_name=\"{stateName}\"";
        foreach (var line in prometheusText.Split('\n'))
        {
            if (!line.Contains(label, StringComparison.Ordinal))
            {
                continue;
            }

            var value = line[(line.LastIndexOf(' ') + 1)..].Trim();
            if (line.StartsWith("orleans_storage_write_latency_milliseconds_count{", StringComparison.Ordinal))
            {
                writes += (long)double.Parse(value, CultureInfo.InvariantCulture);
                found = true;
            }
            else if (line.StartsWith("orleans_storage_write_latency_milliseconds_sum{", StringComparison.Ordinal))
            {
                milliseconds += double.Parse(value, CultureInfo.InvariantCulture);
            }
        }

        return found ? new StateWriteCounters(writes, milliseconds) : null;
    }

    public StateWriteCounters Minus(StateWriteCounters? before) =>
        before is null ? this : new StateWriteCounters(Writes - before.Writes, TotalMilliseconds - before.TotalMilliseconds);
}

/// <summary>The calls <c>load-usage</c> makes: the operator's set-up and check, and the gateway's batches.</summary>
internal sealed class UsageLoadClient(HttpClient http, Uri server, string operatorToken)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly MediaTypeHeaderValue JsonType = new("application/json");

    public Uri Server => server;

    public async Task SetPriceAsync(string model, decimal inputUsdPer1M, decimal outputUsdPer1M, CancellationToken ct)
    {
        using var request = Operator(HttpMethod.Put, $"admin/v1/prices/{model}", new { inputUsdPer1M, outputUsdPer1M });
        await ExpectAsync(request, HttpStatusCode.OK, ct);
    }

    public async Task CreateContractAsync(string contractId, string customerId, DateOnly startDate, CancellationToken ct)
    {
        using var request = Operator(HttpMethod.Post, "admin/v1/contracts", new
        {
            contractId,
            customerId,
            startDate = startDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            quarters = 4,
            quarterlyCommitUsd = 1_000_000,
            discountPercent = 0,
        });
        await ExpectAsync(request, HttpStatusCode.Created, ct);
    }

    public async Task<string> IssueGatewayTokenAsync(CancellationToken ct)
    {
        using var request = Operator(HttpMethod.Post, "admin/v1/tokens", new { role = "gateway" });
        var body = await ExpectAsync(request, HttpStatusCode.Created, ct);
        return body["token"]?.GetValue<string>() is { Length: > 0 } token
            ? token
            : throw new AdminApiException($"POST {request.RequestUri} answered without a token");
    }

    /// <summary>The input and output tokens the contract counted for <paramref name="model"/>.</summary>
    public async Task<(long Input, long Output)> ContractTokensAsync(string contractId, string model, CancellationToken ct)
    {
        using var request = Operator(HttpMethod.Get, $"admin/v1/contracts/{contractId}", null);
        var body = await ExpectAsync(request, HttpStatusCode.OK, ct);
        var usage = body["usageByModel"]?.AsArray().FirstOrDefault(m => m?["model"]?.GetValue<string>() == model);
        return (usage?["inputTokens"]?.GetValue<long>() ?? 0, usage?["outputTokens"]?.GetValue<long>() ?? 0);
    }

    /// <summary>Orleans' write counters for <paramref name="stateName"/> on the silo behind <see cref="Server"/>; null when /metrics is not there.</summary>
    public async Task<StateWriteCounters?> StateWritesAsync(string stateName, CancellationToken ct)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(server, "metrics"), ct);
            return response.IsSuccessStatusCode ? StateWriteCounters.Parse(await response.Content.ReadAsStringAsync(ct), stateName) : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>Sends one batch (a JSON body) with the gateway token; the status and the response body.</summary>
    public async Task<(HttpStatusCode Status, string Body)> SendBatchAsync(byte[] body, string gatewayToken, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server, "gateway/v1/usage"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", gatewayToken);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = JsonType;
        using var response = await http.SendAsync(request, ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }

    private HttpRequestMessage Operator(HttpMethod method, string path, object? body)
    {
        var request = new HttpRequestMessage(method, new Uri(server, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", operatorToken);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }

        return request;
    }

    private async Task<JsonNode> ExpectAsync(HttpRequestMessage request, HttpStatusCode expected, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            throw new AdminApiException($"cannot reach {server}: {e.Message}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new AdminApiException($"no answer from {server} within {http.Timeout.TotalSeconds:0} s");
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            if (response.StatusCode != expected)
            {
                var hint = response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? " (is the operator token right?)" : "";
                throw new AdminApiException(
                    $"{request.Method} {request.RequestUri} answered {(int)response.StatusCode} {response.ReasonPhrase}{hint}: {(text.Length > 300 ? text[..300] + "..." : text.Trim())}");
            }

            try
            {
                return JsonNode.Parse(text) ?? new JsonObject();
            }
            catch (JsonException e)
            {
                throw new AdminApiException($"{request.Method} {request.RequestUri} answered what the simulator does not understand: {e.Message}");
            }
        }
    }
}
