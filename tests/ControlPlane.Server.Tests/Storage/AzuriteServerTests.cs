using Azure.Data.Tables;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Server.Tests.Storage;

[Collection(AzuriteFixture.CollectionName)]
public sealed class AzuriteServerTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task TableService_UpsertThenGet_RoundTripsEntity()
    {
        var ct = TestContext.Current.CancellationToken;
        var table = new TableClient(azurite.ConnectionString, $"probe{Guid.NewGuid():N}");
        await table.CreateIfNotExistsAsync(ct);

        await table.UpsertEntityAsync(new TableEntity("cluster", "silo-1") { ["Status"] = "Active" }, cancellationToken: ct);
        var entity = await table.GetEntityAsync<TableEntity>("cluster", "silo-1", cancellationToken: ct);

        Assert.Equal("Active", entity.Value.GetString("Status"));
        Assert.StartsWith("http://127.0.0.1:", azurite.Server.TableEndpoint.ToString(), StringComparison.Ordinal);
    }
}
