using System.Net;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Commits;

/// <summary>Rollover caps, discounts and true-ups, to the cent, through the HTTP API.</summary>
[Collection(ManualCloseServerFixture.CollectionName)]
public sealed class QuarterBookTests(ManualCloseServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Book_DiscountAndHalfRolloverCap_PricedOncePerQuarterAndRolloverFloored()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, modelA, modelB) = (NewId("disc"), NewId("disc-cust"), NewId("disc-a"), NewId("disc-b"));
        await admin.SetPriceAsync(modelA, 1m, 2m);
        await admin.SetPriceAsync(modelB, 10m, 30m);
        await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-01", 4, 1000m, discountPercent: 12.5m, rolloverCapPercent: 50m));

        // Q1 at list: $200 + $33.333333 + 6 x $0.005 = $233.363333; x 0.875 = $204.192916375 -> 204.19 once
        // for the quarter (rounding each event would give 175.00 + 29.17 + 6 x 0.00 = 204.17).
        var q1 = new List<JsonNode?>
        {
            Event($"{contractId}-1", customerId, modelA, 100_000_000, 50_000_000, At("2025-01-01T00:00:00Z")),
            Event($"{contractId}-2", customerId, modelA, 33_333_333, 0, At("2025-02-01T12:00:00Z")),
        };
        q1.AddRange(Enumerable.Range(0, 6).Select(i => (JsonNode?)Event($"{contractId}-small-{i}", customerId, modelA, 5_000, 0, At("2025-03-31T23:00:00Z"))));
        // Q2 at list: model B $600 + $900, model A $100 + $200 = $1,800; x 0.875 = $1,575.00.
        Assert.Equal("accepted 8, duplicates 0", await gateway.SendUsageAsync(NewId("batch"), [.. q1]));
        Assert.Equal("accepted 2, duplicates 0", await gateway.SendUsageAsync(
            NewId("batch"),
            Event($"{contractId}-3", customerId, modelB, 60_000_000, 30_000_000, At("2025-05-05T05:05:05Z")),
            Event($"{contractId}-4", customerId, modelA, 100_000_000, 100_000_000, At("2025-06-06T06:06:06Z"))));

        // Unused 795.81 x 50% = 397.905 rolls over as 397.90 (floored, not rounded).
        string[] expected =
        [
            "Q1 commit 1000.00 rolloverIn 0.00 available 1000.00 usage 204.19 covered 204.19 overage 0.00 unused 795.81 rolloverOut 397.90 open",
            "Q2 commit 1000.00 rolloverIn 397.90 available 1397.90 usage 1575.00 covered 1397.90 overage 177.10 unused 0.00 rolloverOut 0.00 open",
            "Q3 commit 1000.00 rolloverIn 0.00 available 1000.00 usage 0.00 covered 0.00 overage 0.00 unused 1000.00 rolloverOut 500.00 open",
            "Q4 commit 1000.00 rolloverIn 500.00 available 1500.00 usage 0.00 covered 0.00 overage 0.00 unused 1500.00 rolloverOut 0.00 open",
        ];
        Assert.Equal(expected, Book(await admin.GetContractAsync(contractId)));

        Assert.Equal("commit Q2 1000.00 = 1000.00", DescribeInvoice(await admin.CloseQuarterAsync(contractId, 1)));
        Assert.Equal("commit Q3 1000.00 + overage Q2 177.10 = 1177.10", DescribeInvoice(await admin.CloseQuarterAsync(contractId, 2)));

        var contract = await admin.GetContractAsync(contractId);
        Assert.Equal([expected[0].Replace(" open", " closed"), expected[1].Replace(" open", " closed"), expected[2], expected[3]], Book(contract));
        // Model A over both quarters: $233.363333 + $300 = $533.363333 at list, x 0.875 = 466.692916375.
        Assert.Equal([$"{modelA} in 233363333 out 150000000 = 466.69", $"{modelB} in 60000000 out 30000000 = 1312.50"], UsageByModel(contract));
        Assert.Equal(
            ["commit Q1 1000.00 = 1000.00", "commit Q2 1000.00 = 1000.00", "commit Q3 1000.00 + overage Q2 177.10 = 1177.10"],
            DescribeInvoices(await admin.GetInvoicesAsync(contractId)));
    }

    [Fact]
    public async Task TrueUp_FirstOpenQuarterAndLaterQuarter_InvoicedAtOnceAndAtThatQuartersCommit()
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, customerId) = (NewId("trueup"), NewId("trueup-cust"));
        await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-01", 4, "100000.00"));

        // Q1's commit was invoiced when the contract opened: the raise is invoiced at once.
        var inQ1 = await admin.TrueUpAsync(contractId, "10000.50", 1);
        Assert.Equal("true-up Q1 10000.50 = 10000.50", DescribeInvoice(inQ1["invoice"]));
        Assert.Equal(["110000.50", "110000.50", "110000.50", "110000.50"], Commits(inQ1["contract"]!));

        // Q3's commit is not invoiced yet: the raise is billed with it, at the close of Q2.
        var inQ3 = await admin.TrueUpAsync(contractId, 5000.25m, 3);
        Assert.Equal("(none)", DescribeInvoice(inQ3["invoice"]));
        Assert.Equal(["110000.50", "110000.50", "115000.75", "115000.75"], Commits(inQ3["contract"]!));
        Assert.Equal(["10000.50 from Q1", "5000.25 from Q3"], TrueUps(inQ3["contract"]!));

        Assert.Equal("commit Q2 110000.50 = 110000.50", DescribeInvoice(await admin.CloseQuarterAsync(contractId, 1)));
        Assert.Equal("commit Q3 115000.75 = 115000.75", DescribeInvoice(await admin.CloseQuarterAsync(contractId, 2)));
        Assert.Equal(
            [
                "Q1 commit 110000.50 rolloverIn 0.00 available 110000.50 usage 0.00 covered 0.00 overage 0.00 unused 110000.50 rolloverOut 110000.50 closed",
                "Q2 commit 110000.50 rolloverIn 110000.50 available 220001.00 usage 0.00 covered 0.00 overage 0.00 unused 220001.00 rolloverOut 220001.00 closed",
                "Q3 commit 115000.75 rolloverIn 220001.00 available 335001.75 usage 0.00 covered 0.00 overage 0.00 unused 335001.75 rolloverOut 335001.75 open",
                "Q4 commit 115000.75 rolloverIn 335001.75 available 450002.50 usage 0.00 covered 0.00 overage 0.00 unused 450002.50 rolloverOut 0.00 open",
            ],
            Book(await admin.GetContractAsync(contractId)));
        Assert.Equal(
            ["commit Q1 100000.00 = 100000.00", "true-up Q1 10000.50 = 10000.50", "commit Q2 110000.50 = 110000.50", "commit Q3 115000.75 = 115000.75"],
            DescribeInvoices(await admin.GetInvoicesAsync(contractId)));
    }

    [Fact]
    public async Task TrueUp_ClosedQuarter_RefusedAndChangesNothing()
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, customerId) = (NewId("trueup-closed"), NewId("trueup-closed-cust"));
        await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-01", 4, 1000m));
        await admin.CloseQuarterAsync(contractId, 1);
        var before = await admin.GetContractAsync(contractId);
        var invoicesBefore = (await admin.GetInvoicesAsync(contractId)).ToJsonString();

        using var response = await admin.PostTrueUpAsync(contractId, 500m, 1);

        Assert.Contains(response.StatusCode, new[] { HttpStatusCode.BadRequest, HttpStatusCode.Conflict });
        Assert.Equal(["effectiveQuarter"], await response.ErrorKeysAsync());
        Assert.Equal(before.ToJsonString(), (await admin.GetContractAsync(contractId)).ToJsonString());
        Assert.Equal(invoicesBefore, (await admin.GetInvoicesAsync(contractId)).ToJsonString());
    }

    [Fact]
    public async Task TrueUp_SameIdempotencyKeyTwice_AppliedAndInvoicedOnce()
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, customerId) = (NewId("trueup-key"), NewId("trueup-key-cust"));
        await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-01", 4, 1000m));

        var first = await admin.TrueUpAsync(contractId, 250.10m, 1, idempotencyKey: "raise-1");
        var retry = await admin.TrueUpAsync(contractId, 250.10m, 1, idempotencyKey: "raise-1");

        Assert.Equal("true-up Q1 250.10 = 250.10", DescribeInvoice(first["invoice"]));
        Assert.Equal(first["invoice"]!.ToJsonString(), retry["invoice"]!.ToJsonString());
        Assert.Equal(["1250.10", "1250.10", "1250.10", "1250.10"], Commits(retry["contract"]!));
        Assert.Equal(["commit Q1 1000.00 = 1000.00", "true-up Q1 250.10 = 250.10"], DescribeInvoices(await admin.GetInvoicesAsync(contractId)));
    }

    [Fact]
    public async Task TrueUp_IdempotencyKeyReusedForAnotherTrueUp_Returns409()
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, customerId) = (NewId("trueup-reuse"), NewId("trueup-reuse-cust"));
        await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-01", 4, 1000m));
        await admin.TrueUpAsync(contractId, 100m, 2, idempotencyKey: "raise-1");

        using var response = await admin.PostTrueUpAsync(contractId, 200m, 2, idempotencyKey: "raise-1");

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(["1000.00", "1100.00", "1100.00", "1100.00"], Commits(await admin.GetContractAsync(contractId)));
    }

    [Theory]
    [InlineData(0, 1, "additionalQuarterlyCommitUsd")]
    [InlineData(0.001, 1, "additionalQuarterlyCommitUsd")]
    [InlineData(-5, 1, "additionalQuarterlyCommitUsd")]
    [InlineData(10, 0, "effectiveQuarter")]
    [InlineData(10, 5, "effectiveQuarter")]
    public async Task TrueUp_Invalid_Returns400NamingTheField(double additionalUsd, int effectiveQuarter, string field)
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, customerId) = (NewId("trueup-bad"), NewId("trueup-bad-cust"));
        await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-01", 4, 1000m));

        using var response = await admin.PostTrueUpAsync(contractId, (decimal)additionalUsd, effectiveQuarter);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal([field], await response.ErrorKeysAsync());
        Assert.Equal(["commit Q1 1000.00 = 1000.00"], DescribeInvoices(await admin.GetInvoicesAsync(contractId)));
    }

    private static string[] Commits(JsonNode contract) =>
        contract["quarters"]!.AsArray().Select(q => q!["commitUsd"]!.GetValue<string>()).ToArray();

    private static string[] TrueUps(JsonNode contract) =>
        contract["trueUps"]!.AsArray().Select(t => $"{t!["additionalQuarterlyCommitUsd"]!.GetValue<string>()} from Q{t["effectiveQuarter"]!.GetValue<int>()}").ToArray();
}
