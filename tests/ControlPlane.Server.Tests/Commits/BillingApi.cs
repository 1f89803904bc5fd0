using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Commits;

/// <summary>
/// The billing half of the HTTP API as a client calls it, and compact text forms of quarters and
/// invoices so a test asserts every figure of one with a single exact comparison.
/// </summary>
public static class BillingApi
{
    /// <summary>A fresh id for this test run: the server is shared by the collection, ids must not collide.</summary>
    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    public static async Task<string> IssueTokenAsync(this HttpClient admin, string role, string subject)
    {
        using var response = await admin.SendJsonAsync(HttpMethod.Post, "/admin/v1/tokens", new JsonObject { ["role"] = role, ["subject"] = subject });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"issue {role} token: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!["token"]!.GetValue<string>();
    }

    /// <summary>Sets a model's list price; the price is the model's first, so it also prices all of its past usage.</summary>
    public static async Task<JsonNode> SetPriceAsync(this HttpClient admin, string model, decimal inputUsdPer1M, decimal outputUsdPer1M)
    {
        using var response = await admin.SendJsonAsync(HttpMethod.Put, $"/admin/v1/prices/{model}", new JsonObject
        {
            ["inputUsdPer1M"] = inputUsdPer1M,
            ["outputUsdPer1M"] = outputUsdPer1M,
        });
        return await OkJsonAsync(response, $"PUT price {model}");
    }

    public static JsonObject Contract(
        string contractId, string customerId, string startDate, int quarters, object quarterlyCommitUsd, decimal discountPercent = 0m, decimal? rolloverCapPercent = null)
    {
        var contract = new JsonObject
        {
            ["contractId"] = contractId,
            ["customerId"] = customerId,
            ["startDate"] = startDate,
            ["quarters"] = quarters,
            ["quarterlyCommitUsd"] = Amount(quarterlyCommitUsd),
            ["discountPercent"] = discountPercent,
        };
        if (rolloverCapPercent is { } cap)
        {
            contract["rolloverCapPercent"] = cap;
        }

        return contract;
    }

    public static Task<HttpResponseMessage> PostContractAsync(this HttpClient admin, JsonObject contract) =>
        admin.SendJsonAsync(HttpMethod.Post, "/admin/v1/contracts", contract);

    public static async Task<JsonNode> CreateContractAsync(this HttpClient admin, JsonObject contract)
    {
        using var response = await admin.PostContractAsync(contract);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create contract: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    public static Task<JsonNode> GetContractAsync(this HttpClient admin, string contractId) =>
        admin.GetJsonAsync($"/admin/v1/contracts/{contractId}");

    public static async Task<JsonArray> GetInvoicesAsync(this HttpClient client, string contractId, string prefix = "/admin/v1") =>
        (await client.GetJsonAsync($"{prefix}/contracts/{contractId}/invoices")).AsArray();

    /// <summary>The preview, or null when the server answers 204 (nothing would be invoiced).</summary>
    public static async Task<JsonNode?> PreviewAsync(this HttpClient admin, string contractId)
    {
        using var response = await admin.GetAsync($"/admin/v1/contracts/{contractId}/invoices/preview");
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return null;
        }

        return await OkJsonAsync(response, $"preview {contractId}");
    }

    public static Task<HttpResponseMessage> PostCloseAsync(this HttpClient admin, string contractId, int quarter) =>
        admin.PostAsync($"/admin/v1/contracts/{contractId}/quarters/{quarter.ToString(CultureInfo.InvariantCulture)}/close", null);

    public static async Task<JsonNode> CloseQuarterAsync(this HttpClient admin, string contractId, int quarter)
    {
        using var response = await admin.PostCloseAsync(contractId, quarter);
        return await OkJsonAsync(response, $"close {contractId} Q{quarter}");
    }

    public static Task<HttpResponseMessage> PostTrueUpAsync(this HttpClient admin, string contractId, object additionalQuarterlyCommitUsd, int effectiveQuarter, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/contracts/{contractId}/true-ups")
        {
            Content = Json(new JsonObject
            {
                ["additionalQuarterlyCommitUsd"] = Amount(additionalQuarterlyCommitUsd),
                ["effectiveQuarter"] = effectiveQuarter,
            }),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return admin.SendAsync(request);
    }

    public static async Task<JsonNode> TrueUpAsync(this HttpClient admin, string contractId, object additionalQuarterlyCommitUsd, int effectiveQuarter, string? idempotencyKey = null)
    {
        using var response = await admin.PostTrueUpAsync(contractId, additionalQuarterlyCommitUsd, effectiveQuarter, idempotencyKey);
        return await OkJsonAsync(response, $"true-up {contractId} Q{effectiveQuarter}");
    }

    /// <summary>One usage event as the gateway sends it; tests break a field of it to make it invalid.</summary>
    public static JsonObject Event(string eventId, string customerId, string model, long inputTokens, long outputTokens, DateTimeOffset timestamp) => new()
    {
        ["eventId"] = eventId,
        ["customerId"] = customerId,
        ["deploymentId"] = "dep-1",
        ["model"] = model,
        ["inputTokens"] = inputTokens,
        ["outputTokens"] = outputTokens,
        ["timestamp"] = timestamp.ToString("O", CultureInfo.InvariantCulture),
    };

    public static DateTimeOffset At(string utc) =>
        DateTimeOffset.Parse(utc, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static Task<HttpResponseMessage> PostUsageAsync(this HttpClient gateway, string batchId, params JsonNode?[] events) =>
        gateway.SendJsonAsync(HttpMethod.Post, "/gateway/v1/usage", new JsonObject
        {
            ["batchId"] = batchId,
            ["events"] = new JsonArray(events.Select(e => e?.DeepClone()).ToArray()),
        });

    /// <summary>Sends a batch that must be accepted; returns "accepted A, duplicates D".</summary>
    public static async Task<string> SendUsageAsync(this HttpClient gateway, string batchId, params JsonNode?[] events)
    {
        using var response = await gateway.PostUsageAsync(batchId, events);
        var json = await OkJsonAsync(response, $"usage batch {batchId}");
        return $"accepted {json["accepted"]!.GetValue<int>()}, duplicates {json["duplicates"]!.GetValue<int>()}";
    }

    /// <summary>
    /// A quarter of the book on one line. Money is read as JSON strings: a number there fails the test.
    /// </summary>
    public static string Describe(JsonNode quarter) =>
        $"Q{quarter["quarter"]!.GetValue<int>()} commit {M(quarter, "commitUsd")} rolloverIn {M(quarter, "rolloverInUsd")} available {M(quarter, "availableUsd")}"
        + $" usage {M(quarter, "usageUsd")} covered {M(quarter, "coveredUsd")} overage {M(quarter, "overageUsd")} unused {M(quarter, "unusedUsd")}"
        + $" rolloverOut {M(quarter, "rolloverOutUsd")} {(quarter["closed"]!.GetValue<bool>() ? "closed" : "open")}";

    /// <summary>The quarter book of a contract, one line a quarter.</summary>
    public static string[] Book(JsonNode contract) =>
        contract["quarters"]!.AsArray().Select(q => Describe(q!)).ToArray();

    /// <summary>An invoice on one line: <c>commit Q3 250000.00 + overage Q2 80000.00 = 330000.00</c>.</summary>
    public static string DescribeInvoice(JsonNode? invoice)
    {
        if (invoice is null)
        {
            return "(none)";
        }

        var lines = invoice["lines"]!.AsArray()
            .Select(l => $"{l!["kind"]!.GetValue<string>()} Q{l["quarter"]!.GetValue<int>()} {M(l, "amountUsd")}");
        var text = string.Join(" + ", lines);
        return $"{(text.Length == 0 ? "(no lines)" : text)} = {M(invoice, "totalUsd")}";
    }

    public static string[] DescribeInvoices(JsonArray invoices) => invoices.Select(DescribeInvoice).ToArray();

    /// <summary>Usage by model on one line a model.</summary>
    public static string[] UsageByModel(JsonNode contractOrUsage, string property = "usageByModel") =>
        contractOrUsage[property]!.AsArray()
            .Select(m => $"{m!["model"]!.GetValue<string>()} in {m["inputTokens"]!.GetValue<long>()} out {m["outputTokens"]!.GetValue<long>()} = {M(m, "amountUsd")}")
            .ToArray();

    /// <summary>The field names of a 400's <c>errors</c>, sorted.</summary>
    public static async Task<string[]> ErrorKeysAsync(this HttpResponseMessage response)
    {
        var problem = await response.ProblemAsync();
        return problem["errors"]!.AsObject().Select(e => e.Key).Order(StringComparer.Ordinal).ToArray();
    }

    public static async Task<string> ErrorTextAsync(this HttpResponseMessage response, string key) =>
        string.Join(" | ", (await response.ProblemAsync())["errors"]![key]!.AsArray().Select(m => m!.GetValue<string>()));

    /// <summary>Money as a request carries it: a JSON number (decimal) or a string ("250000.00").</summary>
    private static JsonNode Amount(object usd) => usd switch
    {
        string text => JsonValue.Create(text),
        decimal value => JsonValue.Create(value),
        int value => JsonValue.Create(value),
        _ => throw new ArgumentException($"Money is a decimal or a string, not {usd.GetType()}.", nameof(usd)),
    };

    private static string M(JsonNode node, string property) => node[property]!.GetValue<string>();

    private static Task<HttpResponseMessage> SendJsonAsync(this HttpClient client, HttpMethod method, string path, JsonNode body) =>
        client.SendAsync(new HttpRequestMessage(method, path) { Content = Json(body) });

    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static async Task<JsonNode> OkJsonAsync(HttpResponseMessage response, string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{what}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }
}
