using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ControlPlane.Server.Tests.Ui;

/// <summary>
/// The screenshots in docs/, taken from a running demo (docs/console.md says how): explicit, so it runs only when asked,
/// with CONTROLPLANE_SCREENSHOT_SERVER, CONTROLPLANE_SCREENSHOT_OPERATOR_TOKEN and CONTROLPLANE_SCREENSHOT_CUSTOMER_TOKEN.
/// </summary>
public sealed class UiScreenshots(Chromium chromium) : IClassFixture<Chromium>
{
    [Fact(Explicit = true)]
    public async Task Take_DemoPages()
    {
        var server = new Uri(Required("CONTROLPLANE_SCREENSHOT_SERVER"));
        var operatorToken = Required("CONTROLPLANE_SCREENSHOT_OPERATOR_TOKEN");
        var customerToken = Required("CONTROLPLANE_SCREENSHOT_CUSTOMER_TOKEN");

        var console = await chromium.NewPageAsync(server);
        await console.GotoAsync("/console#token=" + Uri.EscapeDataString(operatorToken));
        await Expect(console.Locator("#nodes tr[data-node]").First).ToBeVisibleAsync();
        await SaveAsync(console, "console-fleet.png");

        await console.Locator("nav button[data-tab='Deployments']").ClickAsync();
        await console.Locator("#deployments tr[data-deployment='acme-chat']").ClickAsync();
        await Expect(console.Locator("[data-detail='acme-chat']")).ToBeVisibleAsync();
        await SaveAsync(console, "console-deployments.png");

        await console.Locator("nav button[data-tab='Capacity']").ClickAsync();
        await Expect(console.Locator("#main [data-region] svg").First).ToBeVisibleAsync();
        await SaveAsync(console, "console-capacity.png");

        await console.Locator("nav button[data-tab='Commits']").ClickAsync();
        await Expect(console.Locator("[data-contract]").First).ToBeVisibleAsync();
        await SaveAsync(console, "console-commits.png");

        var portal = await chromium.NewPageAsync(server);
        await portal.GotoAsync("/portal#token=" + Uri.EscapeDataString(customerToken));
        await Expect(portal.Locator("[data-figure='burn']")).ToBeVisibleAsync();
        await SaveAsync(portal, "portal.png");
    }

    private static async Task SaveAsync(IPage page, string file)
    {
        // Each view renders all its tables at once, after its first refresh: what the caller waited for is all there.
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = RepoPaths.Combine("docs", file), FullPage = true });
    }

    private static string Required(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"Set {variable} (docs/console.md, \"Screenshots and browser tests\").");
}
