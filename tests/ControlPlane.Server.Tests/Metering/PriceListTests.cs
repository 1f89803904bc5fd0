using System.Net;
using ControlPlane.Server.Tests.Commits;
using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Metering;

[Collection(ManualCloseServerFixture.CollectionName)]
public sealed class PriceListTests(ManualCloseServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task SetPrice_ModelNameWithSlashesAndPricesAsStrings_PricesItsUsage()
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var model = $"{NewId("vendor")}/llama-3.1-70b:instruct";
        var customerId = NewId("slash-cust");

        using var put = await admin.PutAsync($"/admin/v1/prices/{model}", new StringContent("""{"inputUsdPer1M":"0.59","outputUsdPer1M":"0.79"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        await gateway.SendUsageAsync(NewId("batch"), Event(NewId("event"), customerId, model, 10_000_000, 10_000_000, At("2026-10-01T00:00:00Z")));

        var prices = (await admin.GetJsonAsync("/admin/v1/prices")).AsArray();
        var price = Assert.Single(prices, p => p!["model"]!.GetValue<string>() == model)!;
        Assert.Equal(0.59m, price["inputUsdPer1M"]!.GetValue<decimal>());
        Assert.Equal(0.79m, price["outputUsdPer1M"]!.GetValue<decimal>());
        Assert.Equal([$"{model} in 10000000 out 10000000 = 13.80"], UsageByModel(await admin.GetJsonAsync($"/admin/v1/customers/{customerId}/usage?month=2026-10"), "usage"));
    }

    [Fact]
    public async Task SetPrice_SamePriceAgain_KeepsItsEffectiveFrom()
    {
        using var admin = Server.CreateOperatorClient();
        var model = NewId("same-price");

        var first = await admin.SetPriceAsync(model, 1.25m, 2.5m);
        var again = await admin.SetPriceAsync(model, 1.25m, 2.5m);

        Assert.Equal(first.ToJsonString(), again.ToJsonString());
    }

    [Theory]
    [InlineData("""{"inputUsdPer1M":-1,"outputUsdPer1M":1}""", "inputUsdPer1M")]
    [InlineData("""{"inputUsdPer1M":1,"outputUsdPer1M":10000.01}""", "outputUsdPer1M")]
    [InlineData("""{"inputUsdPer1M":0.0000001,"outputUsdPer1M":1}""", "inputUsdPer1M")]
    [InlineData("""{"inputUsdPer1M":1}""", "price")]
    public async Task SetPrice_Invalid_Returns400NamingTheField(string body, string field)
    {
        using var admin = Server.CreateOperatorClient();
        var model = NewId("bad-price");

        using var response = await admin.PutAsync($"/admin/v1/prices/{model}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal([field], await response.ErrorKeysAsync());
        Assert.DoesNotContain((await admin.GetJsonAsync("/admin/v1/prices")).AsArray(), p => p!["model"]!.GetValue<string>() == model);
    }
}
