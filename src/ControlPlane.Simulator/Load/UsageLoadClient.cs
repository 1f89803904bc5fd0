using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
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

/// <summary>
/// The calls <c>load-usage</c> makes: the operator's set-up and check (through <see cref="AdminClient"/>), and the
/// gateway's batches.
/// </summary>
internal sealed class UsageLoadClient(HttpClient http, AdminClient admin)
{
    private static readonly MediaTypeHeaderValue JsonType = new("application/json");

    public Uri Server => admin.Server;

    public Task SetPriceAsync(string model, decimal inputUsdPer1M, decimal outputUsdPer1M, CancellationToken ct) =>
        admin.PutAsync($"admin/v1/prices/{model}", new { inputUsdPer1M, outputUsdPer1M }, ct);

    public Task CreateContractAsync(string contractId, string customerId, DateOnly startDate, CancellationToken ct) =>
        admin.PostAsync(
            "admin/v1/contracts",
            new
            {
                contractId,
                customerId,
                startDate = startDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                quarters = 4,
                quarterlyCommitUsd = 1_000_000,
                discountPercent = 0,
            },
            ct,
            accepted: HttpStatusCode.Created);

    public async Task<string> IssueGatewayTokenAsync(CancellationToken ct)
    {
        var body = await admin.PostAsync("admin/v1/tokens", new { role = "gateway" }, ct, accepted: HttpStatusCode.Created);
        return body.ValueKind == JsonValueKind.Object && body.TryGetProperty("token", out var token) && token.GetString() is { Length: > 0 } value
            ? value
            : throw new AdminApiException($"POST {admin.Server}admin/v1/tokens answered without a token");
    }

    /// <summary>The input and output tokens the contract counted for <paramref name="model"/>.</summary>
    public async Task<(long Input, long Output)> ContractTokensAsync(string contractId, string model, CancellationToken ct)
    {
        var body = await admin.GetJsonAsync($"admin/v1/contracts/{contractId}", ct);
        if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("usageByModel", out var models))
        {
            foreach (var usage in models.EnumerateArray())
            {
                if (usage.GetProperty("model").GetString() == model)
                {
                    return (usage.GetProperty("inputTokens").GetInt64(), usage.GetProperty("outputTokens").GetInt64());
                }
            }
        }

        return (0, 0);
    }

    /// <summary>Reads the contract's view once (its books over every day of its open quarters); how long the answer took.</summary>
    /// <summary>
    /// One authenticated admin read that touches no contract (the price list): opens the connection and runs this client's
    /// and the server's request path once, so a timed cold view that follows measures the contract, not a process start.
    /// </summary>
    public Task WarmAsync(CancellationToken ct) => admin.GetJsonAsync("admin/v1/prices", ct);

    public async Task<TimeSpan> TimeContractViewAsync(string contractId, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await admin.GetJsonAsync($"admin/v1/contracts/{contractId}", ct);
        return System.Diagnostics.Stopwatch.GetElapsedTime(started);
    }

    /// <summary>Orleans' write counters for <paramref name="stateName"/> on the silo behind <see cref="Server"/>; null when /metrics is not there.</summary>
    public async Task<StateWriteCounters?> StateWritesAsync(string stateName, CancellationToken ct)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(Server, "metrics"), ct);
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
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Server, "gateway/v1/usage"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", gatewayToken);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = JsonType;
        using var response = await http.SendAsync(request, ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }
}
