using Microsoft.Playwright;

namespace ControlPlane.Server.Tests.Ui;

/// <summary>
/// One headless Chromium for a test class: Debian's <c>chromium</c> package (test.sh installs it), driven by Playwright
/// through <c>ExecutablePath</c>; Playwright's own browser download is never used. <c>CONTROLPLANE_CHROMIUM</c> names
/// another executable.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Not started.");

    public static string ExecutablePath()
    {
        string[] candidates = [Environment.GetEnvironmentVariable("CONTROLPLANE_CHROMIUM") ?? "", "/usr/bin/chromium", "/usr/bin/chromium-browser"];
        return candidates.FirstOrDefault(c => c.Length > 0 && File.Exists(c))
            ?? throw new InvalidOperationException("No Chromium found: install Debian's chromium package (apt-get install -y chromium; test.sh does) or set CONTROLPLANE_CHROMIUM.");
    }

    public async ValueTask InitializeAsync()
    {
        Assertions.SetDefaultExpectTimeout(20_000);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath(),
            Headless = true,
            // Containers have little /dev/shm; Chromium falls back to /tmp with this.
            Args = ["--disable-dev-shm-usage"],
        });
    }

    /// <summary>A fresh browser context (its own sessionStorage) on <paramref name="server"/>, laptop-sized.</summary>
    public async Task<IPage> NewPageAsync(Uri server)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = server.AbsoluteUri,
            ViewportSize = new ViewportSize { Width = 1366, Height = 768 },
        });
        return await context.NewPageAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
