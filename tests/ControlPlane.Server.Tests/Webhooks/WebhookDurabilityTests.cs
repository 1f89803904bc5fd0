using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Webhooks;

/// <summary>
/// Webhooks on PostgreSQL: an outbox that outlives its silo (nobody calls it after the restart: its durable reminder
/// brings it back), and commit thresholds announced once per quarter whatever is resent or restarted.
/// </summary>
public sealed class WebhookDurabilityTests(PostgresFixture postgres)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static Dictionary<string, string> Durable(string connectionString)
    {
        var settings = WebhookSettings.Fast();
        settings["Storage:Provider"] = "postgres";
        settings["Storage:ConnectionString"] = connectionString;
        settings["Auth:BootstrapToken"] = "durable-webhooks-operator-token";
        return settings;
    }

    [Fact]
    public async Task Delivery_FailingWhenTheSiloDies_IsDeliveredByTheRestartedSiloWithTheSameEvent()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(Delivery_FailingWhenTheSiloDies_IsDeliveredByTheRestartedSiloWithTheSameEvent));
        await using var receiver = new WebhookReceiver { Refusing = true };
        var (customer, contractId) = ("acme", "acme-2026");
        string secret;
        await using (var first = await ServerProcess.StartAsync(Durable(db)))
        {
            using var admin = first.CreateOperatorClient();
            secret = (await admin.PutWebhookAsync(customer, "billing", receiver.Url))["secret"]!.GetValue<string>();
            await admin.CreateContractAsync(Contract(contractId, customer, "2026-01-01", 4, 1000m));
            await Poll.UntilAsync(
                async () => (await admin.DeliveriesAsync(customer)).SingleOrDefault(),
                d => d?["state"]!.GetValue<string>() == "failing" && d["attempts"]!.GetValue<int>() >= 2,
                Deadline,
                "two failed attempts");
            await first.KillAsync();
        }

        var failedAttempts = receiver.Requests.Count;
        receiver.Refusing = false;
        await using var second = await ServerProcess.StartAsync(Durable(db));

        // No call reaches the outbox: the reminder alone resumes it.
        var accepted = (await receiver.AcceptedAsync("invoice.issued", 1, Deadline)).Single();
        var attempts = receiver.Requests.Where(r => r.EventId == accepted.EventId).ToList();
        Assert.True(attempts.Count > failedAttempts, "the restarted silo attempted again");
        Assert.All(attempts, a => Assert.Equal(accepted.Body, a.Body));
        Assert.True(WebhookApi.SignatureVerifies(accepted, secret));
        Assert.Equal($"invoice.issued:{contractId}-open", accepted.EventId);

        using var admin2 = second.CreateOperatorClient();
        var delivery = (await Poll.UntilAsync(
            () => admin2.DeliveriesAsync(customer),
            d => d.Single()!["state"]!.GetValue<string>() == "delivered",
            Deadline,
            "the delivery stored as delivered")).Single()!;
        Assert.Equal(attempts.Count, delivery["attempts"]!.GetValue<int>());
        Assert.Single(receiver.Accepted);
    }

    [Fact]
    public async Task CommitThresholds_ResentUsageAndARestart_EachAnnouncedOnceForTheQuarter()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(CommitThresholds_ResentUsageAndARestart_EachAnnouncedOnceForTheQuarter));
        await using var receiver = new WebhookReceiver(failFirst: 1);
        var (customer, contractId, model) = ("globex", "globex-1", "m-70b");
        var now = DateTimeOffset.UtcNow;
        var fifty = Event("u-50", customer, model, 50_000_000, 0, now);
        await using (var first = await ServerProcess.StartAsync(Durable(db)))
        {
            using var admin = first.CreateOperatorClient();
            using var gateway = first.CreateClient(await admin.IssueTokenAsync("gateway", "gw"));
            await admin.PutWebhookAsync(customer, "alerts", receiver.Url, kinds: ["commit.threshold"]);
            await admin.SetPriceAsync(model, 1m, 1m);
            // 100 USD a quarter: 1M input tokens are 1 USD.
            await admin.CreateContractAsync(Contract(contractId, customer, WebhookApi.ThisMonth(), 4, 100m));

            Assert.Equal("accepted 1, duplicates 0", await gateway.SendUsageAsync("b-1", fifty));
            Assert.Equal("accepted 0, duplicates 1", await gateway.SendUsageAsync("b-1", fifty));
            var firstEvents = await receiver.AcceptedAsync("commit.threshold", 1, Deadline);
            Assert.Equal($"commit.threshold:{contractId}:q1:50", firstEvents.Single().EventId);
            var data = firstEvents.Single().Json["data"]!;
            Assert.Equal("100.00", data["availableUsd"]!.GetValue<string>());
            Assert.Equal("50.00", data["usageUsd"]!.GetValue<string>());
            Assert.Equal("50.00", data["remainingUsd"]!.GetValue<string>());
            await first.KillAsync();
        }

        await using var second = await ServerProcess.StartAsync(Durable(db));
        using var admin2 = second.CreateOperatorClient();
        using var gateway2 = second.CreateClient(await admin2.IssueTokenAsync("gateway", "gw-2"));
        Assert.Equal("accepted 0, duplicates 1", await gateway2.SendUsageAsync("b-1-resent", fifty));
        // 50 + 60 = 110 USD: past 80% and 100% at once.
        Assert.Equal("accepted 1, duplicates 0", await gateway2.SendUsageAsync("b-2", Event("u-110", customer, model, 60_000_000, 0, now)));
        var events = await receiver.AcceptedAsync("commit.threshold", 3, Deadline);

        // More usage past 100% announces nothing new.
        Assert.Equal("accepted 1, duplicates 0", await gateway2.SendUsageAsync("b-3", Event("u-115", customer, model, 5_000_000, 0, now)));
        Assert.Equal("accepted 1, duplicates 0", await gateway2.SendUsageAsync("b-4", Event("u-120", customer, model, 5_000_000, 0, now)));
        Assert.Equal("120.00", (await admin2.GetContractAsync(contractId))["quarters"]![0]!["usageUsd"]!.GetValue<string>());

        var deliveries = await Poll.UntilAsync(
            () => admin2.DeliveriesAsync(customer),
            d => d.All(x => x!["state"]!.GetValue<string>() == "delivered"),
            Deadline,
            "every delivery delivered");
        Assert.Equal(
            [$"commit.threshold:{contractId}:q1:100", $"commit.threshold:{contractId}:q1:50", $"commit.threshold:{contractId}:q1:80"],
            receiver.Accepted.Select(r => r.EventId).Order(StringComparer.Ordinal));
        Assert.Equal(3, deliveries.Count);
        var full = events.Single(e => e.EventId.EndsWith(":100", StringComparison.Ordinal)).Json["data"]!;
        Assert.Equal("110.00", full["usageUsd"]!.GetValue<string>());
        Assert.Equal("0.00", full["remainingUsd"]!.GetValue<string>());
        Assert.Equal(100, full["thresholdPercent"]!.GetValue<int>());
    }
}
