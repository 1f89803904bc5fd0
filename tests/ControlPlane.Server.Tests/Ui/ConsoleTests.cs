using ControlPlane.Server.Tests.Commits;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Server.Tests.Webhooks;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ControlPlane.Server.Tests.Ui;

/// <summary>The operator console in a real headless Chromium against the real server.</summary>
[Collection(WebUiServerFixture.CollectionName)]
public sealed class ConsoleTests(WebUiServerFixture fixture, Chromium chromium) : IClassFixture<Chromium>
{
    private ServerProcess Server => fixture.Server;

    private async Task<IPage> SignInAsync(string token)
    {
        var page = await chromium.NewPageAsync(Server.BaseAddress);
        await page.GotoAsync("/console");
        await page.GetByLabel("Operator token").FillAsync(token);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        return page;
    }

    [Fact]
    public async Task SignIn_OperatorToken_ShowsEveryNodeReadyAndTheRegions()
    {
        var page = await SignInAsync(Server.OperatorToken);

        foreach (var nodeId in fixture.NodeIds)
        {
            await Expect(page.Locator($"#nodes tr[data-node='{nodeId}'] .badge")).ToHaveTextAsync("ready");
        }

        await Expect(page.Locator("#nodes tr[data-node='ui-gpu-a1']")).ToContainTextAsync("h100-sxm-80gb");
        await Expect(page.Locator("#nodes tr[data-node='ui-gpu-a1']")).ToContainTextAsync("4/4");
        await Expect(page.Locator("#pools tr[data-region='eu-west'][data-sku='h100-sxm-80gb']")).ToBeVisibleAsync();
        await Expect(page.Locator("#pools tr[data-region='us-east'][data-sku='h100-sxm-80gb']")).ToBeVisibleAsync();
        await Expect(page.Locator("#heard")).ToContainTextAsync("Last heard from the server");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Cordon_Confirmed_NodeShowsCordonedAndTheAdminApiAgrees()
    {
        var nodeId = fixture.NodeIds[1];
        var page = await SignInAsync(Server.OperatorToken);
        var row = page.Locator($"#nodes tr[data-node='{nodeId}']");
        await Expect(row.Locator(".badge")).ToHaveTextAsync("ready");

        // Cancelling the confirmation changes nothing.
        await row.Locator("button[data-action='cordon']").ClickAsync();
        await page.Locator("#confirm-cancel").ClickAsync();
        using var admin = Server.CreateOperatorClient();
        Assert.Equal("ready", await admin.NodeStatusAsync(nodeId));

        await row.Locator("button[data-action='cordon']").ClickAsync();
        await Expect(page.Locator("#confirm")).ToContainTextAsync($"Cordon {nodeId}?");
        await page.Locator("#confirm-ok").ClickAsync();

        await Expect(row.Locator(".badge")).ToHaveTextAsync("cordoned");
        Assert.Equal("cordoned", await admin.NodeStatusAsync(nodeId));

        await row.Locator("button[data-action='uncordon']").ClickAsync();
        await page.Locator("#confirm-ok").ClickAsync();
        await Expect(row.Locator(".badge")).ToHaveTextAsync("ready");
        Assert.Equal("ready", await admin.NodeStatusAsync(nodeId));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Commits_PayAsYouGoCustomer_PreviewThenCloseTheEndedMonthWithConfirmation()
    {
        using var admin = Server.CreateOperatorClient();
        var customerId = BillingApi.NewId("ui-payg-op");
        using var gateway = Server.CreateClient(await admin.IssueTokenAsync("gateway", "ui-payg-op-gateway"));
        // Usage of a month that has ended: 2M input at 2.00 per million, at list price.
        var lastMonth = DateTimeOffset.UtcNow.AddMonths(-1);
        var month = lastMonth.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        await gateway.SendUsageAsync(BillingApi.NewId("ui-payg-op-batch"), BillingApi.Event(BillingApi.NewId("ui-payg-op-e"), customerId, "ui-model-70b", 2_000_000, 0, lastMonth));
        var page = await SignInAsync(Server.OperatorToken);
        await page.Locator("nav button[data-tab='Commits']").ClickAsync();
        await Expect(page.Locator("#commits-customer")).Not.ToHaveValueAsync("");
        await page.Locator("#commits-customer").FillAsync(customerId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Show contracts" }).ClickAsync();

        var payg = page.Locator($"[data-payg='{customerId}']");
        await Expect(payg.Locator($"tr[data-preview='{month}']")).ToContainTextAsync("$4.00");
        await payg.GetByRole(AriaRole.Button, new() { Name = $"Close {month}" }).ClickAsync();
        await Expect(page.Locator("#confirm")).ToContainTextAsync("A closed month is final.");
        await page.Locator("#confirm-ok").ClickAsync();

        await Expect(payg.Locator($"tr[data-invoice='payg-{customerId}-{month}']")).ToContainTextAsync("$4.00");
        Assert.Single((await admin.GetJsonAsync($"/admin/v1/customers/{customerId}/pay-as-you-go/invoices")).AsArray());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Commits_Customer_ShowsItsWebhooksAndTheirDeliveryState()
    {
        using var admin = Server.CreateOperatorClient();
        var customerId = BillingApi.NewId("ui-hooks");
        await admin.PutWebhookAsync(customerId, "ops-hook", "https://hooks.example.invalid/controlplane");
        var page = await SignInAsync(Server.OperatorToken);
        await page.Locator("nav button[data-tab='Commits']").ClickAsync();
        // The first refresh picks a customer with deployments; name ours after it so it is not overwritten.
        await Expect(page.Locator("#commits-customer")).Not.ToHaveValueAsync("");
        await page.Locator("#commits-customer").FillAsync(customerId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Show contracts" }).ClickAsync();

        var hooks = page.Locator($"[data-webhooks='{customerId}']");
        var row = hooks.Locator("tr[data-webhook='ops-hook']");
        await Expect(row).ToContainTextAsync("https://hooks.example.invalid/controlplane");
        await Expect(row).ToContainTextAsync("failing");
        await Expect(hooks).ToContainTextAsync("Deliveries (newest first)");
        Assert.Equal((await admin.DeliveriesAsync(customerId)).Count, await hooks.Locator("tr[data-delivery]").CountAsync());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Deployments_ScaleLimits_ConfirmedLimitsReachTheAdminApiAndABadOneShowsTheProblem()
    {
        const string id = "ui-limits-ded";
        using var admin = Server.CreateOperatorClient();
        await ControlPlane.Server.Tests.Deployments.LiquidCapacityTests.CreateAsync(admin, new
        {
            deploymentId = id, model = "ui-model-8b", @class = "dedicated", customerId = fixture.Acme.CustomerId, gpusPerReplica = 1,
            regions = new[] { "eu-west" }, minReplicas = 0, reservedReplicas = 0, maxReplicas = 4, tokensPerSecondPerReplica = 100,
        });
        var page = await SignInAsync(Server.OperatorToken);
        await page.Locator("nav button[data-tab='Deployments']").ClickAsync();
        // The page's first refresh lists the deployment; selecting it shows its detail with the limits form.
        await page.Locator($"#deployments tr[data-deployment='{id}']").ClickAsync();
        var detail = page.Locator($"[data-detail='{id}']");
        var form = detail.Locator("form[data-form='limits']");
        await Expect(form.Locator("input[name='maxReplicas']")).ToHaveValueAsync("4");

        // Cancelling the confirmation changes nothing.
        await form.Locator("input[name='maxReplicas']").FillAsync("2");
        await form.Locator("input[name='reservedReplicas']").FillAsync("1");
        await form.GetByRole(AriaRole.Button, new() { Name = "Scale limits" }).ClickAsync();
        await Expect(page.Locator("#confirm")).ToContainTextAsync($"Scale {id} limits: reserved 0 -> 1, max 4 -> 2?");
        await page.Locator("#confirm-cancel").ClickAsync();
        Assert.Equal(4, (await admin.GetJsonAsync($"/admin/v1/deployments/{id}"))["maxReplicas"]!.GetValue<int>());

        await form.Locator("input[name='maxReplicas']").FillAsync("2");
        await form.Locator("input[name='reservedReplicas']").FillAsync("1");
        await form.GetByRole(AriaRole.Button, new() { Name = "Scale limits" }).ClickAsync();
        await page.Locator("#confirm-ok").ClickAsync();

        await Expect(page.Locator("#main .notice")).ToHaveTextAsync("Scale limits: done.");
        await Expect(detail).ToContainTextAsync("(min 0, reserved 1, max 2)");
        var stored = await admin.GetJsonAsync($"/admin/v1/deployments/{id}");
        Assert.Equal((0, 1, 2), (stored["minReplicas"]!.GetValue<int>(), stored["reservedReplicas"]!.GetValue<int>(), stored["maxReplicas"]!.GetValue<int>()));

        // A minimum above the maximum is refused by the API, which says why; nothing changes.
        await detail.Locator("form[data-form='limits'] input[name='minReplicas']").FillAsync("3");
        await detail.Locator("form[data-form='limits']").GetByRole(AriaRole.Button, new() { Name = "Scale limits" }).ClickAsync();
        await page.Locator("#confirm-ok").ClickAsync();
        await Expect(page.Locator("#main .error[role='alert']")).ToContainTextAsync("minReplicas: must be between 0 and maxReplicas");
        Assert.Equal(0, (await admin.GetJsonAsync($"/admin/v1/deployments/{id}"))["minReplicas"]!.GetValue<int>());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task SignIn_WrongToken_IsRefusedWithAMessageAndNothingShown()
    {
        var page = await SignInAsync("cpop_not-the-operator-token-0000000000");

        await Expect(page.Locator("#signin-error")).ToContainTextAsync("This token was refused");
        await Expect(page.Locator("#nodes")).ToHaveCountAsync(0);
        Assert.Null(await page.EvaluateAsync<string?>("sessionStorage.getItem('controlplane.operatorToken')"));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task SignIn_CustomerToken_IsRefusedAsNotAnOperator()
    {
        var page = await SignInAsync(fixture.Acme.Token);

        await Expect(page.Locator("#signin-error")).ToContainTextAsync("not an operator token");
        await Expect(page.Locator("#nodes")).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task TokenInTheFragment_SignsInAtOnceAndLeavesTheAddressBar()
    {
        var page = await chromium.NewPageAsync(Server.BaseAddress);
        await page.GotoAsync("/console#token=" + Uri.EscapeDataString(Server.OperatorToken));

        await Expect(page.Locator($"#nodes tr[data-node='{fixture.NodeIds[0]}']")).ToBeVisibleAsync();
        Assert.DoesNotContain("token", page.Url, StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Commits_Customer_ShowsItsContractQuarterBookAndInvoice()
    {
        var page = await SignInAsync(Server.OperatorToken);
        await page.Locator("nav button[data-tab='Commits']").ClickAsync();
        await page.Locator("#commits-customer").FillAsync(fixture.Acme.CustomerId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Show contracts" }).ClickAsync();

        var contract = page.Locator($"[data-contract='{fixture.Acme.ContractId}']");
        await Expect(contract.Locator("tr[data-quarter='1']")).ToContainTextAsync("$100.00");
        await Expect(contract).ToContainTextAsync("commit Q1 $100.00");
        await Expect(page.Locator($"[data-contract='{fixture.Other.ContractId}']")).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Capacity_ShowsSamplesPerRegion()
    {
        var page = await SignInAsync(Server.OperatorToken);
        await page.Locator("nav button[data-tab='Capacity']").ClickAsync();

        await Expect(page.Locator("#main [data-region='eu-west'] svg rect").First).ToBeAttachedAsync();
        await Expect(page.Locator("#main")).ToContainTextAsync("one every 1 s");
        await page.Context.CloseAsync();
    }
}
