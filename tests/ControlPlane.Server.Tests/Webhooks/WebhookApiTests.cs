using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Webhooks;

/// <summary>Operators' webhook calls: secrets shown once, bad input refused without a change, deliveries retried and signed.</summary>
[Collection(WebhookServerFixture.CollectionName)]
public sealed class WebhookApiTests(WebhookServerFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Put_NewWebhook_SecretGeneratedAndShownOnlyToThatRequestAndItsRetry()
    {
        using var admin = Server.CreateOperatorClient();
        var customer = NewId("wh-cust");

        var created = await admin.PutWebhookAsync(customer, "ops", "https://hooks.example.com/cp", idempotencyKey: "put-1");
        var secret = created["secret"]!.GetValue<string>();
        Assert.StartsWith("whsec_", secret);

        var retried = await admin.PutWebhookAsync(customer, "ops", "https://hooks.example.com/cp", idempotencyKey: "put-1");
        Assert.Equal(secret, retried["secret"]!.GetValue<string>());

        var again = await admin.PutWebhookAsync(customer, "ops", "https://hooks.example.com/cp");
        Assert.Null(again["secret"]);
        Assert.Equal(created["secretSetAt"]!.GetValue<DateTimeOffset>(), again["secretSetAt"]!.GetValue<DateTimeOffset>());

        var listed = await admin.GetStringAsync($"/admin/v1/customers/{customer}/webhooks", TestContext.Current.CancellationToken);
        Assert.DoesNotContain(secret, listed);
        Assert.DoesNotContain("\"secret\"", listed);

        // Rotation: a new secret, once.
        using var rotated = await admin.PostAsync($"/admin/v1/customers/{customer}/webhooks/ops/secret", null, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var newSecret = (await rotated.Content.ReadFromJsonAsync<JsonNode>(TestContext.Current.CancellationToken))!["secret"]!.GetValue<string>();
        Assert.NotEqual(secret, newSecret);
        Assert.Null((await admin.PutWebhookAsync(customer, "ops", "https://hooks.example.com/cp", idempotencyKey: "put-1"))["secret"]);
    }

    [Fact]
    public async Task Put_BadInput_Is400NamingTheFieldAndChangesNothing()
    {
        using var admin = Server.CreateOperatorClient();
        var customer = NewId("wh-bad");
        await admin.PutWebhookAsync(customer, "ops", "https://hooks.example.com/cp");
        var before = await admin.GetStringAsync($"/admin/v1/customers/{customer}/webhooks", TestContext.Current.CancellationToken);

        (string Body, string Field)[] cases =
        [
            ("{}", "webhooks"),
            ("""{"webhooks":[{"webhookId":"ops","url":"/relative"}]}""", "webhooks[0].url"),
            ("""{"webhooks":[{"webhookId":"ops","url":"ftp://hooks.example.com/"}]}""", "webhooks[0].url"),
            ("""{"webhooks":[{"webhookId":"ops","url":"https://u:p@hooks.example.com/"}]}""", "webhooks[0].url"),
            ("""{"webhooks":[{"webhookId":"../x","url":"https://hooks.example.com/"}]}""", "webhooks[0].webhookId"),
            ("""{"webhooks":[{"webhookId":"ops","url":"https://hooks.example.com/","kinds":["everything"]}]}""", "webhooks[0].kinds"),
            ("""{"webhooks":[{"webhookId":"ops","url":"https://hooks.example.com/","secret":"short"}]}""", "webhooks[0].secret"),
            ("""{"webhooks":[{"webhookId":"a","url":"https://h.example/"},{"webhookId":"a","url":"https://h.example/2"}]}""", "webhooks"),
            ("{\"webhooks\":[" + string.Join(",", Enumerable.Range(0, 11).Select(i => $"{{\"webhookId\":\"w{i}\",\"url\":\"https://h.example/\"}}")) + "]}", "webhooks"),
            ("""{"webhooks":[],"webhooks":[]}""", "webhooks"),
        ];
        foreach (var (body, field) in cases)
        {
            using var response = await admin.PutWebhooksAsync(customer, JsonNode.Parse(body, documentOptions: new() { AllowDuplicateProperties = true })!);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{body}: {(int)response.StatusCode}");
            var problem = await response.ProblemAsync();
            Assert.True(problem["errors"]?[field] is not null, $"{body}: {problem.ToJsonString()}");
        }

        using var badCustomer = await admin.PutWebhooksAsync("bad..id!", JsonNode.Parse("""{"webhooks":[]}""")!);
        Assert.Equal(HttpStatusCode.BadRequest, badCustomer.StatusCode);
        using var badState = await admin.GetAsync($"/admin/v1/customers/{customer}/webhooks/deliveries?state=lost", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, badState.StatusCode);
        using var unknown = await admin.DeleteAsync($"/admin/v1/customers/{customer}/webhooks/nope", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var rotateUnknown = await admin.PostAsync($"/admin/v1/customers/{customer}/webhooks/nope/secret", null, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, rotateUnknown.StatusCode);

        Assert.Equal(before, await admin.GetStringAsync($"/admin/v1/customers/{customer}/webhooks", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Webhooks_CustomerToken_IsRefused()
    {
        using var admin = Server.CreateOperatorClient();
        var customer = NewId("wh-auth");
        using var client = Server.CreateClient(await admin.IssueTokenAsync("customer", customer));

        using var response = await client.GetAsync($"/admin/v1/customers/{customer}/webhooks", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Invoice_ReceiverFailsTwice_DeliveredOnTheThirdAttemptSignedWithTheSameBody()
    {
        using var admin = Server.CreateOperatorClient();
        await using var receiver = new WebhookReceiver(failFirst: 2);
        await using var thresholdsOnly = new WebhookReceiver();
        var (customer, contractId) = (NewId("wh-inv"), NewId("wh-inv-c"));
        var secret = (await admin.PutWebhookAsync(customer, "billing", receiver.Url))["secret"]!.GetValue<string>();
        using (var both = await admin.PutWebhooksAsync(customer, new JsonObject
        {
            ["webhooks"] = new JsonArray(
                new JsonObject { ["webhookId"] = "billing", ["url"] = receiver.Url },
                new JsonObject { ["webhookId"] = "alerts", ["url"] = thresholdsOnly.Url, ["kinds"] = new JsonArray("commit.threshold") }),
        }))
        {
            Assert.Equal(HttpStatusCode.OK, both.StatusCode);
        }

        await admin.CreateContractAsync(Contract(contractId, customer, "2026-01-01", 4, 1000m));

        var accepted = (await receiver.AcceptedAsync("invoice.issued", 1, Deadline)).Single();
        var attempts = receiver.Requests.Where(r => r.EventId == accepted.EventId).ToList();
        Assert.Equal([503, 503, 200], attempts.Select(a => a.Status));
        Assert.Equal(["1", "2", "3"], attempts.Select(a => a.Headers["ControlPlane-Delivery-Attempt"]));
        Assert.All(attempts, a => Assert.Equal(accepted.Body, a.Body));
        Assert.All(attempts, a => Assert.Equal("POST", a.Method));
        Assert.All(attempts, a => Assert.True(WebhookApi.SignatureVerifies(a, secret), "the signature verifies with the webhook's secret"));
        Assert.False(WebhookApi.SignatureVerifies(accepted with { Body = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(accepted.Body).Replace("1000.00", "1.00")) }, secret));

        Assert.Equal($"invoice.issued:{contractId}-open", accepted.EventId);
        var body = accepted.Json;
        Assert.Equal(accepted.EventId, body["id"]!.GetValue<string>());
        Assert.Equal("invoice.issued", body["kind"]!.GetValue<string>());
        Assert.Equal(customer, body["customerId"]!.GetValue<string>());
        Assert.Equal("1000.00", body["data"]!["totalUsd"]!.GetValue<string>());
        Assert.Equal($"{contractId}-open", body["data"]!["invoiceId"]!.GetValue<string>());

        var delivery = await Poll(admin, customer, d => d["state"]!.GetValue<string>() == "delivered");
        Assert.Equal(3, delivery["attempts"]!.GetValue<int>());
        Assert.Equal(200, delivery["lastStatusCode"]!.GetValue<int>());
        Assert.Equal("HTTP 503", delivery["lastError"]!.GetValue<string>());
        Assert.Empty(thresholdsOnly.Requests);
        var webhooks = await admin.GetFromJsonAsync<JsonNode>($"/admin/v1/customers/{customer}/webhooks", TestContext.Current.CancellationToken);
        Assert.Equal(1, webhooks!["webhooks"]!.AsArray().Single(w => w!["webhookId"]!.GetValue<string>() == "billing")!["deliveries"]!["delivered"]!.GetValue<int>());
    }

    private static Task<JsonNode> Poll(HttpClient admin, string customer, Func<JsonNode, bool> done) =>
        ControlPlane.Testing.Poll.UntilAsync(
            async () => (await admin.DeliveriesAsync(customer)).FirstOrDefault(),
            d => d is not null && done(d),
            Deadline,
            $"{customer}'s delivery")!;
}
