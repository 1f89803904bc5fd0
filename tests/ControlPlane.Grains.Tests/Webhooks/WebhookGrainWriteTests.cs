using ControlPlane.Contracts;
using ControlPlane.Contracts.Commits;
using ControlPlane.Contracts.Metering;
using ControlPlane.Contracts.Webhooks;
using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;
using ControlPlane.Domain.Webhooks;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Webhooks;

/// <summary>
/// The outbox and the contract's announcements when storage fails: an event is queued once whatever is retried, and a
/// crossing whose record was not written is published again under the same id, which the outbox ignores.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class WebhookGrainWriteTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    // Nothing listens there: deliveries fail and wait for their next attempt an hour later.
    private const string ClosedPort = "http://127.0.0.1:9/hook";

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task PublishAsync_RetriedAfterAFailedWriteAndAgain_QueuedOnce()
    {
        var customer = "cust-" + Guid.NewGuid().ToString("N")[..8];
        var outbox = fixture.Cluster.Client.GetGrain<IWebhookGrain>(GrainKeys.Webhooks(customer));
        await outbox.PutAsync(new WebhookPutRequest([new WebhookPutItem("ops", ClosedPort, [], null)], null));
        var e = WebhookEvent.Create(WebhookEventKinds.InvoiceIssued, "invoice.issued:x-open", customer, DateTimeOffset.UtcNow, new { n = 1 });

        fixture.Faults.FailWrites(outbox);
        await Assert.ThrowsAnyAsync<Exception>(() => outbox.PublishAsync(e));
        Assert.Empty(await outbox.GetDeliveriesAsync());

        await outbox.PublishAsync(e);
        await outbox.PublishAsync(e with { Body = """{"changed":true}""" });
        await fixture.Cluster.DeactivateAsync(outbox);
        await outbox.PublishAsync(e);

        var delivery = Assert.Single(await outbox.GetDeliveriesAsync());
        Assert.Equal(e.Body, delivery.Body);
    }

    [Fact]
    public async Task CommitThreshold_RecordNotWrittenAfterThePublish_PublishedAgainUnderTheSameIdAndQueuedOnce()
    {
        var client = fixture.Cluster.Client;
        var id = Guid.NewGuid().ToString("N")[..8];
        var (customer, contractId, model) = ("cust-" + id, "contract-" + id, "model-" + id);
        var outbox = client.GetGrain<IWebhookGrain>(GrainKeys.Webhooks(customer));
        await outbox.PutAsync(new WebhookPutRequest([new WebhookPutItem("alerts", ClosedPort, [WebhookEventKinds.CommitThreshold], null)], null));
        await client.GetGrain<IPriceListGrain>(GrainKeys.PriceList).SetPriceAsync(model, new Rate(1m, 1m), DateTimeOffset.UnixEpoch);
        var today = DateTime.UtcNow;
        var contract = client.GetGrain<IContractGrain>(GrainKeys.Contract(contractId));
        // 100 USD a quarter; 1M tokens are 1 USD.
        Assert.Null((await contract.CreateAsync(new ContractTerms(contractId, customer, new DateOnly(today.Year, today.Month, 1), 4, 100_00, 0m))).Error);

        fixture.Faults.FailWrites(contract);
        await IngestAsync(customer, model, "e-60", 60_000_000);
        await ThresholdsAsync(outbox, ["50"]);
        await Poll.UntilAsync(
            () => Task.FromResult(fixture.Log.Entries),
            entries => entries.Any(e => e.Message.Contains($"Contract {contractId} could not tell its webhooks", StringComparison.Ordinal)
                && e.Exception?.Message.Contains("contract-alerts", StringComparison.Ordinal) == true),
            Deadline,
            "the failed write of the contract's alerts record");

        // The contract did not keep that it announced 50%: the next check publishes it again, with 80%.
        await IngestAsync(customer, model, "e-81", 21_000_000);
        await ThresholdsAsync(outbox, ["50", "80"]);
        await IngestAsync(customer, model, "e-82", 1_000_000);
        await fixture.Cluster.DeactivateAsync(outbox);

        var deliveries = await outbox.GetDeliveriesAsync();
        Assert.Equal(
            [$"commit.threshold:{contractId}:q1:50", $"commit.threshold:{contractId}:q1:80"],
            deliveries.Select(d => d.EventId).Order(StringComparer.Ordinal));
        Assert.Contains("\"usageUsd\":\"60.00\"", deliveries.Single(d => d.EventId.EndsWith(":50", StringComparison.Ordinal)).Body);
    }

    private Task IngestAsync(string customer, string model, string eventId, long inputTokens) =>
        fixture.Cluster.Client.GetGrain<IUsageIngestGrain>(0).IngestAsync(new UsageBatch(
            "batch-" + eventId,
            [new UsageEvent(eventId + "-" + customer, customer, "dep-1", model, inputTokens, 0, DateTimeOffset.UtcNow)]));

    private static Task<List<WebhookDelivery>> ThresholdsAsync(IWebhookGrain outbox, string[] percents) =>
        Poll.UntilAsync(
            outbox.GetDeliveriesAsync,
            d => d.Count == percents.Length,
            Deadline,
            $"thresholds {string.Join(", ", percents)} queued");
}
