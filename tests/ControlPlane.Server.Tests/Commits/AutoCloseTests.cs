using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Commits;

/// <summary>
/// Quarters closed by the contract's durable reminder (every 5 s here, no grace), not by an operator.
/// The reminder's first check comes 5 s after the contract is created: the on-time usage is sent at once.
/// </summary>
[Collection(AutoCloseServerFixture.CollectionName)]
public sealed class AutoCloseTests(AutoCloseServerFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task AutoClose_QuartersEndedLongAgo_ClosedInOrderByTheReminderWithExactInvoices()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = (NewId("auto"), NewId("auto-cust"), NewId("auto-model"));
        await admin.SetPriceAsync(model, 1000m, 2000m);
        await admin.CreateContractAsync(Contract(contractId, customerId, "2026-01-01", 4, 50000m));
        // Q1: 20M input = $20,000. Q2: 45M input + 20M output = $85,000, over the $80,000 available.
        Assert.Equal("accepted 2, duplicates 0", await gateway.SendUsageAsync(
            NewId("batch"),
            Event($"{contractId}-q1", customerId, model, 20_000_000, 0, At("2026-03-31T12:00:00Z")),
            Event($"{contractId}-q2", customerId, model, 45_000_000, 20_000_000, At("2026-04-15T12:00:00Z"))));

        // Q4 ends on 1 January 2027: only Q1 to Q3 are due.
        var invoices = await Poll.UntilAsync(
            () => admin.GetInvoicesAsync(contractId),
            i => i.Count >= 4,
            Deadline,
            $"the reminder to close Q1 to Q3 of {contractId}");

        Assert.Equal(
            [
                "commit Q1 50000.00 = 50000.00",
                "commit Q2 50000.00 = 50000.00",
                "commit Q3 50000.00 + overage Q2 5000.00 = 55000.00",
                "commit Q4 50000.00 = 50000.00",
            ],
            DescribeInvoices(invoices));
        var issuedAt = invoices.Select(i => i!["issuedAt"]!.GetValue<DateTimeOffset>()).ToArray();
        Assert.Equal(issuedAt.Order(), issuedAt);
        Assert.Equal(
            [
                "Q1 commit 50000.00 rolloverIn 0.00 available 50000.00 usage 20000.00 covered 20000.00 overage 0.00 unused 30000.00 rolloverOut 30000.00 closed",
                "Q2 commit 50000.00 rolloverIn 30000.00 available 80000.00 usage 85000.00 covered 80000.00 overage 5000.00 unused 0.00 rolloverOut 0.00 closed",
                "Q3 commit 50000.00 rolloverIn 0.00 available 50000.00 usage 0.00 covered 0.00 overage 0.00 unused 50000.00 rolloverOut 50000.00 closed",
                "Q4 commit 50000.00 rolloverIn 50000.00 available 100000.00 usage 0.00 covered 0.00 overage 0.00 unused 100000.00 rolloverOut 0.00 open",
            ],
            Book(await admin.GetContractAsync(contractId)));
        Assert.Equal(4, (await admin.GetInvoicesAsync(contractId)).Count);
    }

    [Fact]
    public async Task AutoClose_LateUsageAfterTheLastQuarterClosed_BilledOnAnInvoiceOfItsOwn()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = (NewId("auto-late"), NewId("auto-late-cust"), NewId("auto-late-model"));
        await admin.SetPriceAsync(model, 1m, 2m);
        await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-01", 2, 1000m, discountPercent: 20m));
        var closed = await Poll.UntilAsync(
            () => admin.GetInvoicesAsync(contractId),
            i => i.Count >= 3,
            Deadline,
            $"the reminder to close both quarters of {contractId}");
        Assert.Equal(["commit Q1 1000.00 = 1000.00", "commit Q2 1000.00 = 1000.00", "(no lines) = 0.00"], DescribeInvoices(closed));

        // $3 + $4 at list for Q2, 5.60 at the contract's 20% discount.
        Assert.Equal("accepted 1, duplicates 0", await gateway.SendUsageAsync(
            NewId("batch"), Event($"{contractId}-late", customerId, model, 3_000_000, 2_000_000, At("2025-06-01T00:00:00Z"))));

        var invoices = await Poll.UntilAsync(
            () => admin.GetInvoicesAsync(contractId),
            i => i.Count >= 4,
            Deadline,
            $"the reminder to bill the late usage of {contractId}");
        Assert.Equal(["commit Q1 1000.00 = 1000.00", "commit Q2 1000.00 = 1000.00", "(no lines) = 0.00", "late-usage Q2 5.60 = 5.60"], DescribeInvoices(invoices));
        Assert.StartsWith(closed.ToJsonString().TrimEnd(']') + ",", invoices.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("0.00", (await admin.GetContractAsync(contractId))["pendingLateUsageUsd"]!.GetValue<string>());
        Assert.Equal("(none)", DescribeInvoice(await admin.PreviewAsync(contractId)));
    }
}
