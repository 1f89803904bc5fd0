using System.Text.Json.Nodes;
using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Webhooks;

namespace ControlPlane.Domain.Tests.Webhooks;

public sealed class WebhookDeliveryTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly RetrySchedule Schedule = new(TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5));
    private static readonly ContractTerms Terms = new("acme-2026", "acme", new DateOnly(2026, 10, 1), 4, 10_000_00, 20m);

    private static WebhookDelivery Queued() =>
        WebhookDelivery.Queue(WebhookEvent.Create(WebhookEventKinds.InvoiceIssued, "invoice.issued:x", "acme", Now, new { n = 1 }), "ops", Now);

    [Fact]
    public void Queue_IsPendingAndDueAtOnce()
    {
        var d = Queued();

        Assert.Equal(WebhookDeliveryState.Pending, d.State);
        Assert.True(d.IsDue(Now));
        Assert.Equal(0, d.Attempts);
    }

    [Fact]
    public void Failed_ThenSucceeded_KeepsTheAttemptsAndTheBody()
    {
        var failed = Queued().Failed(Now, 503, "HTTP 503", Schedule);
        Assert.Equal(WebhookDeliveryState.Failing, failed.State);
        Assert.Equal(Now.AddSeconds(10), failed.NextAttemptAt);
        Assert.False(failed.IsDue(Now.AddSeconds(9)));
        Assert.True(failed.IsDue(Now.AddSeconds(10)));

        var again = failed.Failed(Now.AddSeconds(10), null, "Connection refused\r\nforged line", Schedule);
        Assert.Equal(Now.AddSeconds(30), again.NextAttemptAt);
        Assert.Equal("Connection refused  forged line", again.LastError);
        Assert.Null(again.LastStatusCode);

        var delivered = again.Succeeded(Now.AddSeconds(30), 204);
        Assert.Equal(WebhookDeliveryState.Delivered, delivered.State);
        Assert.Equal(3, delivered.Attempts);
        Assert.Null(delivered.NextAttemptAt);
        Assert.False(delivered.IsOpen);
        Assert.Equal(Queued().Body, delivered.Body);
    }

    [Fact]
    public void Failed_AfterTheRetryWindow_IsGivenUp()
    {
        var d = Queued();
        var at = Now;
        while (d.IsOpen)
        {
            d = d.Failed(at, 500, "HTTP 500", Schedule);
            at = d.NextAttemptAt ?? at;
        }

        Assert.Equal(WebhookDeliveryState.GivenUp, d.State);
        Assert.True(d.LastAttemptAt <= Now.AddMinutes(5));
    }

    [Fact]
    public void Create_UnknownKind_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => WebhookEvent.Create("sla.oops", "x", "acme", Now, new { }));
    }

    [Fact]
    public void ThresholdReached_BodyCarriesIdKindCustomerTimeAndTheQuarter()
    {
        var line = new QuarterLine(1, new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), 10_000_00, 2_500_00, 12_500_00, 10_000_00, 10_000_00, 0, 2_500_00, 0, false);

        var e = CommitEvents.ThresholdReached(Terms, line, 80, Now);

        Assert.Equal("commit.threshold:acme-2026:q1:80", e.EventId);
        var body = JsonNode.Parse(e.Body)!;
        Assert.Equal("commit.threshold:acme-2026:q1:80", body["id"]!.GetValue<string>());
        Assert.Equal("commit.threshold", body["kind"]!.GetValue<string>());
        Assert.Equal("acme", body["customerId"]!.GetValue<string>());
        Assert.Equal(Now, body["occurredAt"]!.GetValue<DateTimeOffset>());
        var data = body["data"]!;
        Assert.Equal("acme-2026", data["contractId"]!.GetValue<string>());
        Assert.Equal(80, data["thresholdPercent"]!.GetValue<int>());
        Assert.Equal("12500.00", data["availableUsd"]!.GetValue<string>());
        Assert.Equal("10000.00", data["usageUsd"]!.GetValue<string>());
        Assert.Equal("2500.00", data["remainingUsd"]!.GetValue<string>());
    }

    [Fact]
    public void InvoiceIssued_BodyCarriesTheLinesInUsd()
    {
        var invoice = new Invoice("acme-2026-close-Q1", Now, [new(InvoiceLineKind.Commit, 2, 10_000_00), new(InvoiceLineKind.Overage, 1, 123_45)]);

        var e = CommitEvents.InvoiceIssued(Terms, invoice, Now);

        Assert.Equal("invoice.issued:acme-2026-close-Q1", e.EventId);
        var data = JsonNode.Parse(e.Body)!["data"]!;
        Assert.Equal("10123.45", data["totalUsd"]!.GetValue<string>());
        Assert.Equal("overage", data["lines"]![1]!["kind"]!.GetValue<string>());
        Assert.Equal("123.45", data["lines"]![1]!["amountUsd"]!.GetValue<string>());
    }

    [Fact]
    public void SlaCredited_OneEventPerCreditLineWithItsMeasurementAndAnIdThatIsTheSameEveryTime()
    {
        var detail = new ControlPlane.Domain.Slas.SlaCreditDetail("acme-chat", new DateOnly(2026, 1, 1), new DateOnly(2026, 2, 1), 44_640, 44_580, 60, 99.8655m, 99.9m, 99.9m, 10m, 600_00);
        var invoice = new Invoice("acme-2026-close-Q1", Now, [new(InvoiceLineKind.Commit, 2, 10_000_00), new(InvoiceLineKind.SlaCredit, 1, -60_00, detail)]);

        var events = CommitEvents.SlaCredited(Terms, invoice, Now).ToArray();

        var e = Assert.Single(events);
        Assert.Equal(WebhookEventKinds.SlaCredit, e.Kind);
        Assert.Equal("sla-credit:acme-2026-close-Q1:acme-chat:2026-01-01", e.EventId);
        Assert.Equal(e.Body, CommitEvents.SlaCredited(Terms, invoice, Now).Single().Body);
        var data = JsonNode.Parse(e.Body)!["data"]!;
        Assert.Equal("60.00", data["creditUsd"]!.GetValue<string>());
        Assert.Equal("600.00", data["usageUsd"]!.GetValue<string>());
        Assert.Equal("2026-01-01", data["periodStart"]!.GetValue<string>());
        Assert.Equal(60, data["missedMinutes"]!.GetValue<long>());
        Assert.Equal(99.8655m, data["attainmentPercent"]!.GetValue<decimal>());
        Assert.Empty(CommitEvents.SlaCredited(Terms, invoice with { Lines = [new(InvoiceLineKind.Commit, 2, 10_000_00)] }, Now));
    }
}
