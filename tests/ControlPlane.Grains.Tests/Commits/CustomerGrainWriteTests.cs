using ControlPlane.Contracts;
using ControlPlane.Contracts.Commits;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Commits;

/// <summary>The customer grain when its storage fails: a contract term is believed only once written.</summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class CustomerGrainWriteTests(FaultyStoreClusterFixture fixture) : IClassFixture<FaultyStoreClusterFixture>
{
    [Fact]
    public async Task AddContractAsync_RetryAfterAFailedWrite_IsWrittenAndSurvivesReactivation()
    {
        var customer = fixture.Cluster.Client.GetGrain<ICustomerGrain>(GrainKeys.Customer("cust-" + Guid.NewGuid().ToString("N")[..8]));
        var term = new ContractTerm("contract-1", new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero));
        fixture.Faults.FailWrites(customer);

        await Assert.ThrowsAnyAsync<Exception>(() => customer.AddContractAsync(term));
        Assert.Empty(await customer.GetContractsAsync());
        Assert.True(await customer.AddContractAsync(term));

        await fixture.Cluster.DeactivateAsync(customer);
        Assert.Equal([term], await customer.GetContractsAsync());
    }
}
