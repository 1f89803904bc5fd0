using ControlPlane.Domain.Webhooks;

namespace ControlPlane.Domain.Tests.Webhooks;

public sealed class WebhookEndpointTests
{
    [Theory]
    [InlineData("https://hooks.example.com/cp", false, null)]
    [InlineData("http://127.0.0.1:8080/cp", true, null)]
    [InlineData("http://hooks.example.com/cp", false, "webhooks[0].url")]
    [InlineData("ftp://hooks.example.com/cp", true, "webhooks[0].url")]
    [InlineData("/relative", true, "webhooks[0].url")]
    [InlineData("https://user:pass@hooks.example.com/", false, "webhooks[0].url")]
    [InlineData("https://hooks.example.com/#frag", false, "webhooks[0].url")]
    [InlineData("https://hooks.example.com/\r\nx", false, "webhooks[0].url")]
    public void Validate_Url(string url, bool allowHttp, string? error)
    {
        var errors = WebhookEndpoint.Validate("webhooks[0]", "ops", url, null, null, allowHttp);

        Assert.Equal(error is null ? [] : [error], errors.Keys);
    }

    [Theory]
    [InlineData("short", "webhooks[0].secret")]
    [InlineData("has a space in it, long enough", "webhooks[0].secret")]
    [InlineData("a-given-secret-of-enough-length", null)]
    public void Validate_Secret(string secret, string? error)
    {
        var errors = WebhookEndpoint.Validate("webhooks[0]", "ops", "https://h.example/x", null, secret, false);

        Assert.Equal(error is null ? [] : [error], errors.Keys);
    }

    [Fact]
    public void Validate_KindsAndId()
    {
        Assert.Equal(["webhooks[1].kinds"], WebhookEndpoint.Validate("webhooks[1]", "ops", "https://h.example/x", ["nope"], null, false).Keys);
        Assert.Equal(["webhooks[1].kinds"], WebhookEndpoint.Validate("webhooks[1]", "ops", "https://h.example/x", ["invoice.issued", "invoice.issued"], null, false).Keys);
        Assert.Equal(["webhooks[1].webhookId"], WebhookEndpoint.Validate("webhooks[1]", "../x", "https://h.example/x", null, null, false).Keys);
    }

    [Fact]
    public void GenerateSecret_IsPrefixedRandomAndLongEnough()
    {
        var a = WebhookEndpoint.GenerateSecret();
        var b = WebhookEndpoint.GenerateSecret();

        Assert.StartsWith(WebhookEndpoint.SecretPrefix, a);
        Assert.NotEqual(a, b);
        Assert.Empty(WebhookEndpoint.Validate("w", "ops", "https://h.example/x", null, a, false));
    }

    [Fact]
    public void Receives_NoKinds_MeansEveryKind()
    {
        var all = new WebhookEndpoint("ops", "https://h.example/x", [], "s", DateTimeOffset.UnixEpoch);
        var invoices = all with { Kinds = [WebhookEventKinds.InvoiceIssued] };

        Assert.True(all.Receives(WebhookEventKinds.CommitThreshold));
        Assert.False(invoices.Receives(WebhookEventKinds.CommitThreshold));
        Assert.True(invoices.Receives(WebhookEventKinds.InvoiceIssued));
    }
}
