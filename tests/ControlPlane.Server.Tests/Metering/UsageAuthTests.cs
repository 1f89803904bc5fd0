using System.Net;
using ControlPlane.Server.Tests.Commits;
using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Metering;

/// <summary>Only the gateway meters usage.</summary>
[Collection(ManualCloseServerFixture.CollectionName)]
public sealed class UsageAuthTests(ManualCloseServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData("not-a-token", HttpStatusCode.Unauthorized)]
    [InlineData("operator", HttpStatusCode.Forbidden)]
    [InlineData("customer", HttpStatusCode.Forbidden)]
    public async Task SendUsage_WithoutAGatewayToken_RefusedAndNothingCounted(string? role, HttpStatusCode expected)
    {
        using var admin = Server.CreateOperatorClient();
        using var gateway = Server.CreateClient(fixture.GatewayToken);
        var (contractId, customerId, model) = (NewId("usage-auth"), NewId("usage-auth-cust"), NewId("usage-auth-model"));
        await admin.SetPriceAsync(model, 1m, 2m);
        await admin.CreateContractAsync(Contract(contractId, customerId, "2026-01-01", 4, 1000m));
        var token = role switch
        {
            null => null,
            "not-a-token" => role,
            "operator" => Server.OperatorToken,
            _ => await admin.IssueTokenAsync(role, customerId),
        };
        using var client = Server.CreateClient(token);
        var usage = Event($"{contractId}-1", customerId, model, 1_000_000, 0, At("2026-01-05T00:00:00Z"));

        using var response = await client.PostUsageAsync(NewId("batch"), usage);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("0.00", (await admin.GetContractAsync(contractId))["quarters"]![0]!["usageUsd"]!.GetValue<string>());
        Assert.Equal("accepted 1, duplicates 0", await gateway.SendUsageAsync(NewId("batch"), usage));
    }

    [Fact]
    public async Task SendUsage_GatewayTokenIssuedByOperator_Accepted()
    {
        using var admin = Server.CreateOperatorClient();
        var model = NewId("usage-auth-model");
        await admin.SetPriceAsync(model, 1m, 2m);
        using var gateway = Server.CreateClient(await admin.IssueTokenAsync("gateway", NewId("gateway")));

        Assert.Equal("accepted 1, duplicates 0", await gateway.SendUsageAsync(
            NewId("batch"), Event(NewId("event"), NewId("usage-auth-cust"), model, 1, 1, At("2026-01-05T00:00:00Z"))));
    }
}
