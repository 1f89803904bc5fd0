using System.Net;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Commits;
using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Metering;

/// <summary>A batch with any invalid event is refused whole: 400 naming the bad events, nothing of it counted.</summary>
[Collection(ManualCloseServerFixture.CollectionName)]
public sealed class InvalidUsageBatchTests(ManualCloseServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Theory]
    [InlineData("negative-input")]
    [InlineData("negative-output")]
    [InlineData("absurd-tokens")]
    [InlineData("unknown-model")]
    [InlineData("malformed-model")]
    [InlineData("future-timestamp")]
    [InlineData("ancient-timestamp")]
    [InlineData("missing-timestamp")]
    [InlineData("missing-tokens")]
    [InlineData("missing-customer-id")]
    [InlineData("missing-deployment-id")]
    [InlineData("missing-model")]
    public async Task SendUsage_OneBadEvent_Returns400NamingItAndCountsNoneOfTheBatch(string defect)
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = await ContractAsync(admin, "invalid");
        var good = Good(contractId, customerId, model);
        var bad = Event($"{contractId}-bad", customerId, model, 1_000_000, 0, At("2026-01-20T00:00:00Z"));
        Break(bad, defect);

        using var response = await gateway.PostUsageAsync(NewId("batch"), good[0], bad, good[1]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["events[1]"], await response.ErrorKeysAsync());
        Assert.Contains($"'{contractId}-bad'", await response.ErrorTextAsync("events[1]"), StringComparison.Ordinal);
        await AssertNothingCountedAsync(admin, gateway, contractId, good);
    }

    [Fact]
    public async Task SendUsage_EventWithoutId_Returns400NamingItsIndex()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = await ContractAsync(admin, "no-id");
        var good = Good(contractId, customerId, model);
        var noId = Event("x", customerId, model, 1_000_000, 0, At("2026-01-20T00:00:00Z"));
        noId.Remove("eventId");

        using var response = await gateway.PostUsageAsync(NewId("batch"), good[0], good[1], noId, null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["events[2]", "events[3]"], await response.ErrorKeysAsync());
        Assert.Contains("eventId", await response.ErrorTextAsync("events[2]"), StringComparison.Ordinal);
        await AssertNothingCountedAsync(admin, gateway, contractId, good);
    }

    [Fact]
    public async Task SendUsage_SeveralBadEvents_NamesEachOfThem()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = await ContractAsync(admin, "several");
        var good = Good(contractId, customerId, model);
        var negative = Event($"{contractId}-negative", customerId, model, -1, 0, At("2026-01-20T00:00:00Z"));
        var future = Event($"{contractId}-future", customerId, model, 1, 0, DateTimeOffset.UtcNow.AddDays(1));

        using var response = await gateway.PostUsageAsync(NewId("batch"), negative, good[0], future, good[1]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["events[0]", "events[2]"], await response.ErrorKeysAsync());
        Assert.Contains($"'{contractId}-negative'", await response.ErrorTextAsync("events[0]"), StringComparison.Ordinal);
        Assert.Contains($"'{contractId}-future'", await response.ErrorTextAsync("events[2]"), StringComparison.Ordinal);
        await AssertNothingCountedAsync(admin, gateway, contractId, good);
    }

    [Fact]
    public async Task SendUsage_UnknownModelsInOtherwiseValidBatch_NamesEachAndCountsNothing()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = await ContractAsync(admin, "unpriced");
        var good = Good(contractId, customerId, model);
        var unpriced = NewId("unpriced-model");

        using var response = await gateway.PostUsageAsync(
            NewId("batch"),
            good[0],
            Event($"{contractId}-u1", customerId, unpriced, 1, 1, At("2026-01-20T00:00:00Z")),
            good[1],
            Event($"{contractId}-u2", customerId, unpriced, 1, 1, At("2026-05-20T00:00:00Z")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["events[1]", "events[3]"], await response.ErrorKeysAsync());
        Assert.Contains(unpriced, await response.ErrorTextAsync("events[3]"), StringComparison.Ordinal);
        await AssertNothingCountedAsync(admin, gateway, contractId, good);
    }

    [Theory]
    [InlineData("""{"batchId":"b-empty","events":[]}""", "events")]
    [InlineData("""{"batchId":"b-null"}""", "events")]
    [InlineData("""{"events":[{"eventId":"e","customerId":"c","deploymentId":"d","model":"m","inputTokens":1,"outputTokens":1,"timestamp":"2026-01-01T00:00:00Z"}]}""", "batchId")]
    public async Task SendUsage_EmptyOrUnnamedBatch_Returns400(string body, string field)
    {
        using var gateway = Server.CreateClient(fixture.GatewayToken);

        using var response = await gateway.PostAsync("/gateway/v1/usage", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal([field], await response.ErrorKeysAsync());
    }

    /// <summary>Two valid events, in Q1 and Q2: $1.00 and $2.00 at list.</summary>
    private static JsonObject[] Good(string contractId, string customerId, string model) =>
    [
        Event($"{contractId}-good-1", customerId, model, 1_000_000, 0, At("2026-01-05T00:00:00Z")),
        Event($"{contractId}-good-2", customerId, model, 0, 1_000_000, At("2026-04-05T00:00:00Z")),
    ];

    private static void Break(JsonObject e, string defect)
    {
        switch (defect)
        {
            case "negative-input": e["inputTokens"] = -1; break;
            case "negative-output": e["outputTokens"] = -5; break;
            case "absurd-tokens": e["inputTokens"] = 100_000_001; break;
            case "unknown-model": e["model"] = NewId("unpriced-model"); break;
            case "malformed-model": e["model"] = "no spaces allowed"; break;
            case "future-timestamp": e["timestamp"] = DateTimeOffset.UtcNow.AddDays(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture); break;
            case "ancient-timestamp": e["timestamp"] = "2019-12-31T23:59:59Z"; break;
            case "missing-timestamp": e.Remove("timestamp"); break;
            case "missing-tokens": e.Remove("outputTokens"); break;
            case "missing-customer-id": e.Remove("customerId"); break;
            case "missing-deployment-id": e["deploymentId"] = ""; break;
            case "missing-model": e.Remove("model"); break;
            default: throw new ArgumentException($"unknown defect {defect}", nameof(defect));
        }
    }

    /// <summary>The contract saw nothing, and the valid events of the refused batch were not remembered: sent alone they count.</summary>
    private static async Task AssertNothingCountedAsync(HttpClient admin, HttpClient gateway, string contractId, JsonObject[] good)
    {
        var untouched = await admin.GetContractAsync(contractId);
        Assert.Equal(["0.00", "0.00", "0.00", "0.00"], Usage(untouched));
        Assert.Empty(untouched["usageByModel"]!.AsArray());

        Assert.Equal("accepted 2, duplicates 0", await gateway.SendUsageAsync(NewId("batch"), good));
        Assert.Equal(["1.00", "2.00", "0.00", "0.00"], Usage(await admin.GetContractAsync(contractId)));
    }

    private static async Task<(string ContractId, string CustomerId, string Model)> ContractAsync(HttpClient admin, string name)
    {
        var (contractId, customerId, model) = (NewId(name), NewId($"{name}-cust"), NewId($"{name}-model"));
        await admin.SetPriceAsync(model, 1m, 2m);
        await admin.CreateContractAsync(Contract(contractId, customerId, "2026-01-01", 4, 1000m));
        return (contractId, customerId, model);
    }

    private static string[] Usage(JsonNode contract) =>
        contract["quarters"]!.AsArray().Select(q => q!["usageUsd"]!.GetValue<string>()).ToArray();
}
