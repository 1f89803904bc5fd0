using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Commits;
using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Metering;

/// <summary>Delivery is at least once: however a batch or an event is resent, each event counts once.</summary>
[Collection(ManualCloseServerFixture.CollectionName)]
public sealed class UsageResendTests(ManualCloseServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task SendUsage_SameBatchTwice_SecondAcceptsNothingAndTotalsCountOnce()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = await ContractAsync(admin, "resend");
        var batchId = NewId("batch");
        JsonNode[] events =
        [
            Event($"{contractId}-1", customerId, model, 1_000_000, 0, At("2026-01-10T00:00:00Z")),
            Event($"{contractId}-2", customerId, model, 2_000_000, 1_000_000, At("2026-02-10T00:00:00Z")),
            Event($"{contractId}-3", customerId, model, 0, 3_000_000, At("2026-05-01T00:00:00Z")),
        ];

        Assert.Equal("accepted 3, duplicates 0", await gateway.SendUsageAsync(batchId, events));
        Assert.Equal("accepted 0, duplicates 3", await gateway.SendUsageAsync(batchId, events));

        // Q1: $1 + $2 + $2; Q2: $6.
        var contract = await admin.GetContractAsync(contractId);
        Assert.Equal(["5.00", "6.00", "0.00", "0.00"], Usage(contract));
        Assert.Equal([$"{model} in 3000000 out 4000000 = 11.00"], UsageByModel(contract));
    }

    [Fact]
    public async Task SendUsage_EventResentInOtherBatches_CountsOnce()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = await ContractAsync(admin, "resend-event");
        var e1 = Event($"{contractId}-1", customerId, model, 1_000_000, 0, At("2026-01-10T00:00:00Z"));
        var e2 = Event($"{contractId}-2", customerId, model, 2_000_000, 0, At("2026-01-11T00:00:00Z"));
        var e3 = Event($"{contractId}-3", customerId, model, 4_000_000, 0, At("2026-04-11T00:00:00Z"));
        var e4 = Event($"{contractId}-4", customerId, model, 8_000_000, 0, At("2026-07-11T00:00:00Z"));

        Assert.Equal("accepted 2, duplicates 0", await gateway.SendUsageAsync(NewId("batch"), e1, e2));
        Assert.Equal("accepted 1, duplicates 1", await gateway.SendUsageAsync(NewId("batch"), e2, e3));
        // The same event twice in one batch counts once too.
        Assert.Equal("accepted 1, duplicates 4", await gateway.SendUsageAsync(NewId("batch"), e3, e4, e1, e4, e2));

        var contract = await admin.GetContractAsync(contractId);
        Assert.Equal(["3.00", "4.00", "8.00", "0.00"], Usage(contract));
        Assert.Equal([$"{model} in 15000000 out 0 = 15.00"], UsageByModel(contract));
    }

    [Fact]
    public async Task SendUsage_SameBatchConcurrently_EachEventCountsOnce()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = await ContractAsync(admin, "resend-race");
        var batchId = NewId("batch");
        // 1,000 events over 10 days of Q1, each 1,000 input tokens ($0.001): $1.00 in all.
        var events = Enumerable.Range(0, 1000)
            .Select(i => (JsonNode)Event($"{contractId}-{i}", customerId, model, 1_000, 0, At("2026-02-01T00:00:00Z").AddDays(i % 10).AddSeconds(i)))
            .ToArray();

        var answers = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => gateway.SendUsageAsync(batchId, events)));

        var counts = answers.Select(a => a.Split(", ")).Select(p => (Accepted: int.Parse(p[0]["accepted ".Length..]), Duplicates: int.Parse(p[1]["duplicates ".Length..]))).ToArray();
        Assert.Equal(1000, counts.Sum(c => c.Accepted));
        Assert.Equal(4000, counts.Sum(c => c.Duplicates));
        Assert.Equal("accepted 0, duplicates 1000", await gateway.SendUsageAsync(NewId("batch"), events));
        var contract = await admin.GetContractAsync(contractId);
        Assert.Equal(["1.00", "0.00", "0.00", "0.00"], Usage(contract));
        Assert.Equal([$"{model} in 1000000 out 0 = 1.00"], UsageByModel(contract));
    }

    [Fact]
    public async Task SendUsage_ResentAfterItsQuarterClosed_IsADuplicateNotLateUsage()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = await ContractAsync(admin, "resend-closed");
        var batchId = NewId("batch");
        var counted = Event($"{contractId}-1", customerId, model, 1_000_000, 0, At("2026-03-31T23:59:59.999Z"));
        await gateway.SendUsageAsync(batchId, counted);
        await admin.CloseQuarterAsync(contractId, 1);

        Assert.Equal("accepted 0, duplicates 1", await gateway.SendUsageAsync(batchId, counted));
        Assert.Equal("accepted 0, duplicates 1", await gateway.SendUsageAsync(NewId("batch"), counted));

        var contract = await admin.GetContractAsync(contractId);
        Assert.Equal("0.00", contract["pendingLateUsageUsd"]!.GetValue<string>());
        Assert.Equal(["1.00", "0.00", "0.00", "0.00"], Usage(contract));
        Assert.Equal("commit Q3 1000.00 = 1000.00", DescribeInvoice(await admin.PreviewAsync(contractId)));
    }

    [Fact]
    public async Task SendUsage_MaxTokensPerEvent_AcceptedAndPricedExactly()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = await ContractAsync(admin, "max-tokens");

        Assert.Equal("accepted 1, duplicates 0", await gateway.SendUsageAsync(
            NewId("batch"), Event($"{contractId}-1", customerId, model, 100_000_000, 100_000_000, At("2026-01-01T00:00:00Z"))));

        Assert.Equal(["300.00", "0.00", "0.00", "0.00"], Usage(await admin.GetContractAsync(contractId)));
    }

    [Fact]
    public async Task SendUsage_ResentAfterAContractWasCreatedCoveringIt_CountsOnce()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = (NewId("retro"), NewId("retro-cust"), NewId("retro-model"));
        await admin.SetPriceAsync(model, 1m, 2m);
        var usage = Event($"{contractId}-1", customerId, model, 1_000_000, 0, At("2026-02-01T00:00:00Z"));
        // No contract yet: pay-as-you-go. Then a contract is signed whose term began before the event.
        Assert.Equal("accepted 1, duplicates 0", await gateway.SendUsageAsync(NewId("batch"), usage));
        await admin.CreateContractAsync(Contract(contractId, customerId, "2026-01-01", 4, 1000m));

        var resent = await gateway.SendUsageAsync(NewId("batch"), usage);

        var payAsYouGo = (await admin.GetJsonAsync($"/admin/v1/customers/{customerId}/usage?month=2026-02"))["totalUsd"]!.GetValue<string>();
        var contract = Usage(await admin.GetContractAsync(contractId))[0];
        Assert.Equal("accepted 0, duplicates 1 / pay-as-you-go 1.00 / contract 0.00", $"{resent} / pay-as-you-go {payAsYouGo} / contract {contract}");
    }

    [Fact]
    public async Task SendUsage_TimestampWithOffset_CountedInTheQuarterOfItsUtcInstant()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = await ContractAsync(admin, "offset");
        var lateEvening = Event($"{contractId}-1", customerId, model, 1_000_000, 0, At("2026-03-31T23:00:00Z"));
        lateEvening["timestamp"] = "2026-04-01T01:00:00+02:00";
        var earlyMorning = Event($"{contractId}-2", customerId, model, 2_000_000, 0, At("2026-04-01T00:00:00Z"));
        earlyMorning["timestamp"] = "2026-03-31T20:00:00-04:00";

        Assert.Equal("accepted 2, duplicates 0", await gateway.SendUsageAsync(NewId("batch"), lateEvening, earlyMorning));

        Assert.Equal(["1.00", "2.00", "0.00", "0.00"], Usage(await admin.GetContractAsync(contractId)));
    }

    /// <summary>A 2026 contract (Q1 to Q3 ended, Q4 running) and a model at $1 input, $2 output per million tokens.</summary>
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
