using System.Net;
using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Ui;

/// <summary>The pages are served by the server itself, without sign-in, and may only talk to it.</summary>
[Collection(WebUiServerFixture.CollectionName)]
public sealed class WebUiAssetTests(WebUiServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Theory]
    [InlineData("/console", "text/html", "/ui/console.js")]
    [InlineData("/portal", "text/html", "/ui/portal.js")]
    [InlineData("/ui/common.js", "text/javascript", "sessionStorage")]
    [InlineData("/ui/app.css", "text/css", "--accent")]
    public async Task Get_WithoutToken_ServesTheEmbeddedFileWithAStrictPolicy(string path, string mediaType, string content)
    {
        using var anonymous = Server.CreateClient();

        using var response = await anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(content, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", string.Join(' ', response.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/ui/missing.js")]
    [InlineData("/ui/..%2Fappsettings.json")]
    public async Task Get_UnknownAsset_Returns404(string path)
    {
        using var anonymous = Server.CreateClient();

        using var response = await anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
