using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Commits;

/// <summary>Usage that arrives after its quarter closed: billed on the next invoice, the closed quarter and issued invoices untouched.</summary>
[Collection(ManualCloseServerFixture.CollectionName)]
public sealed class LateUsageTests(ManualCloseServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task LateUsage_ForClosedQuarter_BilledOnNextCloseAtContractRate_ClosedBookAndInvoicesUnchanged()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = (NewId("late"), NewId("late-cust"), NewId("late-model"));
        await admin.SetPriceAsync(model, 1m, 2m);
        await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-01", 4, 1000m, discountPercent: 10m));
        // Q1: $100 at list, 90.00 at the contract's 10% discount.
        await gateway.SendUsageAsync(NewId("batch"), Event($"{contractId}-q1", customerId, model, 100_000_000, 0, At("2025-02-01T00:00:00Z")));
        Assert.Equal("commit Q2 1000.00 = 1000.00", DescribeInvoice(await admin.CloseQuarterAsync(contractId, 1)));
        const string closedQ1 = "Q1 commit 1000.00 rolloverIn 0.00 available 1000.00 usage 90.00 covered 90.00 overage 0.00 unused 910.00 rolloverOut 910.00 closed";
        var issued = (await admin.GetInvoicesAsync(contractId)).ToJsonString();

        // Late for Q1: $100 + $33.333333 at list = 133.333333; x 0.9 = 119.9999997 -> 120.00. On time for Q2: $10 -> 9.00.
        Assert.Equal("accepted 3, duplicates 0", await gateway.SendUsageAsync(
            NewId("batch"),
            Event($"{contractId}-late-1", customerId, model, 50_000_000, 25_000_000, At("2025-03-31T23:59:59Z")),
            Event($"{contractId}-late-2", customerId, model, 33_333_333, 0, At("2025-01-01T00:00:00Z")),
            Event($"{contractId}-q2", customerId, model, 10_000_000, 0, At("2025-04-01T00:00:00Z"))));

        var pending = await admin.GetContractAsync(contractId);
        Assert.Equal(
            [closedQ1, "Q2 commit 1000.00 rolloverIn 910.00 available 1910.00 usage 9.00 covered 9.00 overage 0.00 unused 1901.00 rolloverOut 1901.00 open"],
            Book(pending).Take(2));
        Assert.Equal("120.00", pending["pendingLateUsageUsd"]!.GetValue<string>());
        Assert.Equal(issued, (await admin.GetInvoicesAsync(contractId)).ToJsonString());
        var preview = await admin.PreviewAsync(contractId);
        Assert.Equal("commit Q3 1000.00 + late-usage Q1 120.00 = 1120.00", DescribeInvoice(preview));

        var q2Close = await admin.CloseQuarterAsync(contractId, 2);

        Assert.Equal("commit Q3 1000.00 + late-usage Q1 120.00 = 1120.00", DescribeInvoice(q2Close));
        var closed = await admin.GetContractAsync(contractId);
        Assert.Equal(closedQ1, Book(closed)[0]);
        Assert.Equal("0.00", closed["pendingLateUsageUsd"]!.GetValue<string>());
        // Usage by model counts late usage too: $243.333333 at list, x 0.9 = 218.9999997.
        Assert.Equal([$"{model} in 193333333 out 25000000 = 219.00"], UsageByModel(closed));
        // The invoices issued before are exactly as they were; the close added one.
        var invoices = await admin.GetInvoicesAsync(contractId);
        Assert.Equal(3, invoices.Count);
        Assert.StartsWith(issued.TrimEnd(']') + ",", invoices.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LateUsage_TwoClosedQuartersAndAResentLateEvent_OneLinePerQuarterBilledOnce()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = (NewId("late2"), NewId("late2-cust"), NewId("late2-model"));
        await admin.SetPriceAsync(model, 1m, 2m);
        await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-01", 4, 1000m, discountPercent: 10m));
        await admin.CloseQuarterAsync(contractId, 1);
        var lateQ1 = Event($"{contractId}-late-q1", customerId, model, 0, 10_000_000, At("2025-03-01T00:00:00Z"));
        await gateway.SendUsageAsync(NewId("batch"), lateQ1);
        Assert.Equal("commit Q3 1000.00 + late-usage Q1 18.00 = 1018.00", DescribeInvoice(await admin.CloseQuarterAsync(contractId, 2)));
        var issued = (await admin.GetInvoicesAsync(contractId)).ToJsonString();

        // The Q1 event again (already billed) and new late usage for Q1 ($1 -> 0.90) and Q2 ($2 -> 1.80).
        Assert.Equal("accepted 2, duplicates 1", await gateway.SendUsageAsync(
            NewId("batch"),
            lateQ1,
            Event($"{contractId}-late-q1-b", customerId, model, 1_000_000, 0, At("2025-03-02T00:00:00Z")),
            Event($"{contractId}-late-q2", customerId, model, 2_000_000, 0, At("2025-06-30T00:00:00Z"))));

        Assert.Equal("2.70", await PendingLateAsync(admin, contractId));
        Assert.Equal("commit Q4 1000.00 + late-usage Q1 0.90 + late-usage Q2 1.80 = 1002.70", DescribeInvoice(await admin.PreviewAsync(contractId)));
        Assert.Equal("commit Q4 1000.00 + late-usage Q1 0.90 + late-usage Q2 1.80 = 1002.70", DescribeInvoice(await admin.CloseQuarterAsync(contractId, 3)));
        var invoices = await admin.GetInvoicesAsync(contractId);
        Assert.Equal(4, invoices.Count);
        Assert.StartsWith(issued.TrimEnd(']') + ",", invoices.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(
            [
                "Q1 commit 1000.00 rolloverIn 0.00 available 1000.00 usage 0.00 covered 0.00 overage 0.00 unused 1000.00 rolloverOut 1000.00 closed",
                "Q2 commit 1000.00 rolloverIn 1000.00 available 2000.00 usage 0.00 covered 0.00 overage 0.00 unused 2000.00 rolloverOut 2000.00 closed",
                "Q3 commit 1000.00 rolloverIn 2000.00 available 3000.00 usage 0.00 covered 0.00 overage 0.00 unused 3000.00 rolloverOut 3000.00 closed",
            ],
            Book(await admin.GetContractAsync(contractId)).Take(3));
    }

    private static async Task<string> PendingLateAsync(HttpClient admin, string contractId) =>
        (await admin.GetContractAsync(contractId))["pendingLateUsageUsd"]!.GetValue<string>();
}
