using System.Globalization;
using System.Net;
using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Commits;

/// <summary>The issue's worked example, end to end through the HTTP API of a real server.</summary>
[Collection(ManualCloseServerFixture.CollectionName)]
public sealed class WorkedExampleTests(ManualCloseServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task WorkedExample_Q1Under_Q2Over_Q2CloseInvoices330000()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = (NewId("worked"), NewId("worked-cust"), NewId("worked-model"));
        // $1,000 a million input tokens and $2,000 a million output tokens: a few events make six figures.
        await admin.SetPriceAsync(model, 1000m, 2000m);
        await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-01", 4, 250000m, discountPercent: 0m, rolloverCapPercent: 100m));

        // Q1: 90M input + 45M output = $90,000 + $90,000. Q2: twice 100M input + 50M output = 2 x $200,000.
        Assert.Equal("accepted 3, duplicates 0", await gateway.SendUsageAsync(
            NewId("batch"),
            Event($"{contractId}-q1", customerId, model, 90_000_000, 45_000_000, At("2025-02-14T10:00:00Z")),
            Event($"{contractId}-q2a", customerId, model, 100_000_000, 50_000_000, At("2025-04-01T00:00:00Z")),
            Event($"{contractId}-q2b", customerId, model, 100_000_000, 50_000_000, At("2025-06-30T23:59:59Z"))));

        var open = await admin.GetContractAsync(contractId);
        Assert.Equal(
            [
                "Q1 commit 250000.00 rolloverIn 0.00 available 250000.00 usage 180000.00 covered 180000.00 overage 0.00 unused 70000.00 rolloverOut 70000.00 open",
                "Q2 commit 250000.00 rolloverIn 70000.00 available 320000.00 usage 400000.00 covered 320000.00 overage 80000.00 unused 0.00 rolloverOut 0.00 open",
                "Q3 commit 250000.00 rolloverIn 0.00 available 250000.00 usage 0.00 covered 0.00 overage 0.00 unused 250000.00 rolloverOut 250000.00 open",
                "Q4 commit 250000.00 rolloverIn 250000.00 available 500000.00 usage 0.00 covered 0.00 overage 0.00 unused 500000.00 rolloverOut 0.00 open",
            ],
            Book(open));
        Assert.Equal([$"{model} in 290000000 out 145000000 = 580000.00"], UsageByModel(open));
        Assert.Equal(["commit Q1 250000.00 = 250000.00"], DescribeInvoices(await admin.GetInvoicesAsync(contractId)));

        Assert.Equal("commit Q2 250000.00 = 250000.00", DescribeInvoice(await admin.CloseQuarterAsync(contractId, 1)));
        var preview = await admin.PreviewAsync(contractId);
        var q2Close = await admin.CloseQuarterAsync(contractId, 2);

        Assert.Equal("commit Q3 250000.00 + overage Q2 80000.00 = 330000.00", DescribeInvoice(q2Close));
        Assert.Equal(DescribeInvoice(q2Close), DescribeInvoice(preview));
        Assert.Equal(
            ["commit Q1 250000.00 = 250000.00", "commit Q2 250000.00 = 250000.00", "commit Q3 250000.00 + overage Q2 80000.00 = 330000.00"],
            DescribeInvoices(await admin.GetInvoicesAsync(contractId)));
        var closed = await admin.GetContractAsync(contractId);
        Assert.Equal(
            [
                "Q1 commit 250000.00 rolloverIn 0.00 available 250000.00 usage 180000.00 covered 180000.00 overage 0.00 unused 70000.00 rolloverOut 70000.00 closed",
                "Q2 commit 250000.00 rolloverIn 70000.00 available 320000.00 usage 400000.00 covered 320000.00 overage 80000.00 unused 0.00 rolloverOut 0.00 closed",
            ],
            Book(closed).Take(2));
        Assert.Equal("0.00", closed["pendingLateUsageUsd"]!.GetValue<string>());
    }

    [Fact]
    public async Task CloseQuarter_Again_ReturnsTheSameInvoiceAndIssuesNoOther()
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, customerId) = (NewId("reclose"), NewId("reclose-cust"));
        await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-01", 4, 1000m));

        var first = await admin.CloseQuarterAsync(contractId, 1);
        var again = await admin.CloseQuarterAsync(contractId, 1);

        Assert.Equal(first.ToJsonString(), again.ToJsonString());
        var invoices = await admin.GetInvoicesAsync(contractId);
        Assert.Equal(["commit Q1 1000.00 = 1000.00", "commit Q2 1000.00 = 1000.00"], DescribeInvoices(invoices));
        Assert.Equal(first.ToJsonString(), invoices[1]!.ToJsonString());
    }

    [Fact]
    public async Task CloseQuarter_OutOfOrder_Returns409AndClosesNothing()
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, customerId) = (NewId("order"), NewId("order-cust"));
        await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-01", 4, 1000m));

        using var q2First = await admin.PostCloseAsync(contractId, 2);

        Assert.Equal(HttpStatusCode.Conflict, q2First.StatusCode);
        Assert.Equal(409, (await q2First.ProblemAsync())["status"]!.GetValue<int>());
        Assert.Equal(["commit Q1 1000.00 = 1000.00"], DescribeInvoices(await admin.GetInvoicesAsync(contractId)));
        Assert.All((await admin.GetContractAsync(contractId))["quarters"]!.AsArray(), q => Assert.False(q!["closed"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task CloseQuarter_NotEnded_Returns409()
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, customerId) = (NewId("running"), NewId("running-cust"));
        // Quarter 1 began yesterday: it ends three months from now.
        var startDate = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await admin.CreateContractAsync(Contract(contractId, customerId, startDate, 4, 1000m));

        using var response = await admin.PostCloseAsync(contractId, 1);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(["commit Q1 1000.00 = 1000.00"], DescribeInvoices(await admin.GetInvoicesAsync(contractId)));
    }

    [Fact]
    public async Task CloseQuarter_PastTheLastQuarterOnceAllClosed_Returns400()
    {
        using var admin = Server.CreateOperatorClient();
        var (contractId, customerId) = (NewId("pastterm"), NewId("pastterm-cust"));
        await admin.CreateContractAsync(Contract(contractId, customerId, "2025-01-01", 1, 1000m));
        Assert.Equal("(no lines) = 0.00", DescribeInvoice(await admin.CloseQuarterAsync(contractId, 1)));

        using var response = await admin.PostCloseAsync(contractId, 2);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["commit Q1 1000.00 = 1000.00", "(no lines) = 0.00"], DescribeInvoices(await admin.GetInvoicesAsync(contractId)));
    }

    [Fact]
    public async Task CloseQuarter_UnknownContract_Returns404()
    {
        using var admin = Server.CreateOperatorClient();

        using var response = await admin.PostCloseAsync(NewId("nobody"), 1);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
