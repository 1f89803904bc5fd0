using ControlPlane.Server.Tests.Hosting;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Ui;

/// <summary>The customer portal in a real headless Chromium against the real server.</summary>
[Collection(WebUiServerFixture.CollectionName)]
public sealed class PortalTests(WebUiServerFixture fixture, Chromium chromium) : IClassFixture<Chromium>
{
    private ServerProcess Server => fixture.Server;

    private async Task<IPage> SignInAsync(string token)
    {
        var page = await chromium.NewPageAsync(Server.BaseAddress);
        await page.GotoAsync("/portal");
        await page.GetByLabel("Customer token").FillAsync(token);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        return page;
    }

    [Fact]
    public async Task SignIn_CustomerToken_ShowsItsOwnContractBalanceUsageAndInvoicesOnly()
    {
        var page = await SignInAsync(fixture.Acme.Token);

        await Expect(page.Locator($"section[data-contract='{fixture.Acme.ContractId}']")).ToBeVisibleAsync();
        // 3M input at 2.00 and 1.5M output at 6.00 per million, 20% off: (6.00 + 9.00) x 0.8 = 12.00.
        await Expect(page.Locator("[data-figure='commit'] .value")).ToHaveTextAsync("$100.00");
        await Expect(page.Locator("[data-figure='used'] .value")).ToHaveTextAsync("$12.00");
        await Expect(page.Locator("[data-figure='remaining'] .value")).ToHaveTextAsync("$88.00");
        await Expect(page.Locator("#usage-by-model tr[data-model='ui-model-70b']")).ToContainTextAsync("$12.00");
        await Expect(page.Locator("#usage-by-day tbody tr")).ToHaveCountAsync(2);
        await Expect(page.Locator("#invoices")).ToContainTextAsync("commit Q1: $100.00");
        var sla = page.Locator($"#slas tr[data-sla^='{WebUiServerFixture.AcmeDeploymentId}:']").First;
        await Expect(sla).ToContainTextAsync("99.9%");
        await Expect(sla).ToContainTextAsync("as it stands");
        Assert.DoesNotContain(fixture.Other.ContractId, await page.ContentAsync(), StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task SignIn_OtherCustomer_SeesItsContractWithNoUsageAndNotAcmes()
    {
        var page = await SignInAsync(fixture.Other.Token);

        await Expect(page.Locator($"section[data-contract='{fixture.Other.ContractId}']")).ToBeVisibleAsync();
        await Expect(page.Locator("[data-figure='used'] .value")).ToHaveTextAsync("$0.00");
        await Expect(page.GetByText("No SLO terms on this contract.")).ToBeVisibleAsync();
        Assert.DoesNotContain(fixture.Acme.ContractId, await page.ContentAsync(), StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task SignIn_NoContract_SeesItsPayAsYouGoMonthAtListPrice()
    {
        using var admin = Server.CreateOperatorClient();
        var customerId = NewId("ui-payg");
        using var gateway = Server.CreateClient(await admin.IssueTokenAsync("gateway", "ui-payg-gateway"));
        // 1M input at 2.00 and 0.5M output at 6.00 per million, at list price: $5.00.
        await gateway.SendUsageAsync(NewId("ui-payg-batch"), Event(NewId("ui-payg-e"), customerId, "ui-model-70b", 1_000_000, 500_000, DateTimeOffset.UtcNow.AddMinutes(-1)));

        var page = await SignInAsync(await admin.IssueTokenAsync("customer", customerId));

        await Expect(page.Locator("#payg-open")).ToContainTextAsync("so far: $5.00");
        await Expect(page.Locator("#payg-open tr[data-line^='usage:']")).ToContainTextAsync("$2.00 / $6.00");
        await Expect(page.GetByText("No pay-as-you-go invoice yet.")).ToBeVisibleAsync();
        await Expect(page.Locator("section[data-contract]")).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task SignIn_WrongToken_IsRefusedWithAMessage()
    {
        var page = await SignInAsync("not-a-token");

        await Expect(page.Locator("#signin-error")).ToContainTextAsync("This token was refused");
        await Expect(page.Locator("section[data-contract]")).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task SignIn_OperatorToken_IsRefusedAsNotACustomer()
    {
        var page = await SignInAsync(Server.OperatorToken);

        await Expect(page.Locator("#signin-error")).ToContainTextAsync("not a customer token");
        await page.Context.CloseAsync();
    }
}
