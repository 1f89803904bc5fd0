using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Server.Tests.Webhooks;
using ControlPlane.Testing;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Commits;

/// <summary>
/// Pay-as-you-go invoices on the real server with PostgreSQL. The first server runs at ten to midnight on 31 October
/// (<c>Diagnostics:ClockOffsetSeconds</c>), takes October's usage and is killed; the second starts on 1 November, as after
/// ten minutes of downtime, and its durable reminder (every 2 s, no grace) closes October.
/// </summary>
public sealed class PayAsYouGoInvoiceTests(PostgresFixture postgres)
{
    private const string Customer = "payg-inv-cust";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task NoContract_MonthPreviewedAtListPrice_ClosedOnceByTheReminderAfterARestart_LateUsageNeverChangesIt()
    {
        var ct = TestContext.Current.CancellationToken;
        var db = await postgres.CreateDatabaseAsync("payg_invoices", ct);
        await using var receiver = new WebhookReceiver();
        Dictionary<string, string> Settings(DateTimeOffset serverNow) => new()
        {
            ["Storage:Provider"] = "postgres",
            ["Storage:ConnectionString"] = db,
            ["Auth:BootstrapToken"] = "payg-operator-token",
            ["Diagnostics:ClockOffsetSeconds"] = ((long)(serverNow - DateTimeOffset.UtcNow).TotalSeconds).ToString(CultureInfo.InvariantCulture),
            ["Billing:PaygGraceDays"] = "0",
            ["Billing:AutoCloseCheckSeconds"] = "2",
            ["Webhooks:AllowHttp"] = "true",
        };

        var first = await ServerProcess.StartAsync(Settings(new DateTimeOffset(2026, 10, 31, 23, 50, 0, TimeSpan.Zero)), ct: ct);
        JsonNode preview;
        string gatewayToken, customerToken;
        await using (first)
        {
            using var admin = first.CreateOperatorClient();
            gatewayToken = await admin.IssueTokenAsync("gateway", "payg-gateway");
            customerToken = await admin.IssueTokenAsync("customer", Customer);
            using var gateway = first.CreateClient(gatewayToken);
            await admin.SetPriceAsync("payg-a", 3m, 15m);
            await admin.SetPriceAsync("payg-b", 0.5m, 1.5m);
            await admin.PutWebhookAsync(Customer, "billing", receiver.Url, ["invoice.issued"]);

            var october = Event("oct-1", Customer, "payg-a", 2_000_000, 1_000_000, At("2026-10-05T10:00:00Z"));
            Assert.Equal("accepted 3, duplicates 0", await gateway.SendUsageAsync(
                "b-1",
                october,
                Event("oct-2", Customer, "payg-a", 1_234_567, 0, At("2026-10-31T23:00:00Z")),
                Event("oct-3", Customer, "payg-b", 1_000_000, 1_000_000, At("2026-10-10T00:00:00Z"))));
            Assert.Equal("accepted 0, duplicates 1", await gateway.SendUsageAsync("b-1-again", october));

            // At list price, a line per model rounded once: 3,234,567 x $3 + 1,000,000 x $15 = $24.703701; $0.50 + $1.50.
            preview = (await admin.GetJsonAsync($"/admin/v1/customers/{Customer}/pay-as-you-go/invoices/preview"))!;
            Assert.Equal(
                "payg-payg-inv-cust-2026-10 2026-10: usage 2026-10 payg-a in 3234567 out 1000000 at 3/15 = 24.70 + usage 2026-10 payg-b in 1000000 out 1000000 at 0.5/1.5 = 2.00 = 26.70",
                Describe(preview));
            using var customer = first.CreateClient(customerToken);
            Assert.Equal(Lines(preview), Lines((await customer.GetJsonAsync("/v1/pay-as-you-go/invoices/preview?month=2026-10"))!));

            // October has not ended: not closed, and nothing issued.
            using (var early = await admin.PostAsync($"/admin/v1/customers/{Customer}/pay-as-you-go/months/2026-10/close", null, ct))
            {
                Assert.Equal(HttpStatusCode.Conflict, early.StatusCode);
                Assert.Equal(["month"], await early.ErrorKeysAsync());
            }

            Assert.Empty((await admin.GetJsonAsync($"/admin/v1/customers/{Customer}/pay-as-you-go/invoices")).AsArray());
            await first.KillAsync();
        }

        // Ten minutes later by the server's clock: October has ended, and the reminder stored before the restart closes it.
        await using var second = await ServerProcess.StartAsync(Settings(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero)), ct: ct);
        using var admin2 = second.CreateOperatorClient();
        using var gateway2 = second.CreateClient(gatewayToken);
        using var customer2 = second.CreateClient(customerToken);
        var invoices = await Poll.UntilAsync(
            () => admin2.GetJsonAsync($"/admin/v1/customers/{Customer}/pay-as-you-go/invoices"),
            i => i.AsArray().Count >= 1,
            Deadline,
            "the reminder to close October");
        var invoice = Assert.Single(invoices.AsArray())!;
        // The preview with no new events is the invoice.
        Assert.Equal(Describe(preview), Describe(invoice));
        var announced = Assert.Single(await receiver.AcceptedAsync("invoice.issued", 1, Deadline));
        Assert.Equal(
            ("invoice.issued:payg-payg-inv-cust-2026-10", "pay-as-you-go", "2026-10", "26.70", 2),
            (announced.EventId, announced.Json["data"]!["billing"]!.GetValue<string>(), announced.Json["data"]!["month"]!.GetValue<string>(),
                announced.Json["data"]!["totalUsd"]!.GetValue<string>(), announced.Json["data"]!["lines"]!.AsArray().Count));

        // Late usage (and a resend of counted usage) leaves the closed invoice as it was: it goes on November's, at list.
        Assert.Equal("accepted 1, duplicates 1", await gateway2.SendUsageAsync(
            "b-2",
            Event("oct-late", Customer, "payg-a", 1_000_000, 0, At("2026-10-31T23:59:59Z")),
            Event("oct-2", Customer, "payg-a", 1_234_567, 0, At("2026-10-31T23:00:00Z"))));
        using (var closedAgain = await admin2.PostAsync($"/admin/v1/customers/{Customer}/pay-as-you-go/months/2026-10/close", null, ct))
        {
            Assert.Equal(HttpStatusCode.OK, closedAgain.StatusCode);
            Assert.Equal(invoice.ToJsonString(), JsonNode.Parse(await closedAgain.Content.ReadAsStringAsync(ct))!.ToJsonString());
        }

        var november = (await admin2.GetJsonAsync($"/admin/v1/customers/{Customer}/pay-as-you-go/invoices/preview"))!;
        Assert.Equal("payg-payg-inv-cust-2026-11 2026-11: late-usage 2026-10 payg-a in 1000000 out 0 at 3/15 = 3.00 = 3.00", Describe(november));
        Assert.Equal(Lines(november), Lines((await customer2.GetJsonAsync("/v1/pay-as-you-go/invoices/preview"))!));
        using (var notEnded = await admin2.PostAsync($"/admin/v1/customers/{Customer}/pay-as-you-go/months/2026-11/close", null, ct))
        {
            Assert.Equal(HttpStatusCode.Conflict, notEnded.StatusCode);
        }

        // Usage of the month counts the late event, whichever invoice bills it.
        Assert.Equal("29.70", (await admin2.GetJsonAsync($"/admin/v1/customers/{Customer}/usage?month=2026-10"))["totalUsd"]!.GetValue<string>());

        // Closed once (the reminder has ticked every 2 s meanwhile): the customer sees the one invoice, another customer none.
        var mine = await customer2.GetJsonAsync("/v1/pay-as-you-go/invoices");
        Assert.Equal(new JsonArray(invoice.DeepClone()).ToJsonString(), mine.ToJsonString());
        Assert.Equal(mine.ToJsonString(), (await admin2.GetJsonAsync($"/admin/v1/customers/{Customer}/pay-as-you-go/invoices")).ToJsonString());
        using var stranger = second.CreateClient(await admin2.IssueTokenAsync("customer", "payg-other-cust"));
        Assert.Empty((await stranger.GetJsonAsync("/v1/pay-as-you-go/invoices")).AsArray());
        Assert.Single(receiver.Accepted.Where(r => r.Kind == "invoice.issued").Select(r => r.EventId).Distinct());
    }

    /// <summary>An invoice on one line: id, month, its lines and total.</summary>
    private static string Describe(JsonNode invoice) =>
        $"{invoice["invoiceId"]!.GetValue<string>()} {invoice["month"]!.GetValue<string>()}: {string.Join(" + ", Lines(invoice))} = {invoice["totalUsd"]!.GetValue<string>()}";

    private static string[] Lines(JsonNode invoice) =>
        invoice["lines"]!.AsArray()
            .Select(l => $"{l!["kind"]!.GetValue<string>()} {l["month"]!.GetValue<string>()} {l["model"]!.GetValue<string>()} in {l["inputTokens"]!.GetValue<long>()} out {l["outputTokens"]!.GetValue<long>()}"
                + $" at {l["inputUsdPer1M"]!.GetValue<decimal>().ToString(CultureInfo.InvariantCulture)}/{l["outputUsdPer1M"]!.GetValue<decimal>().ToString(CultureInfo.InvariantCulture)} = {l["amountUsd"]!.GetValue<string>()}")
            .ToArray();
}
