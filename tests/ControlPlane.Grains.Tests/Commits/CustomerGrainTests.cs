using ControlPlane.Contracts;
using ControlPlane.Contracts.Commits;
using ControlPlane.Grains.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Commits;

/// <summary>
/// A customer's contract terms on real PostgreSQL storage: a retried term is accepted again, a different term under the
/// same id or one that overlaps another is refused, and the terms stay in order of their start.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class CustomerGrainTests(AdoNetClusterFixture fixture) : IClassFixture<AdoNetClusterFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ContractTerm Term(string id, int fromMonth, int months) => new(id, Start.AddMonths(fromMonth), Start.AddMonths(fromMonth + months));

    [Fact]
    public async Task AddContractAsync_RetriesOverlapsAndOrder_AsStoredAfterReactivation()
    {
        var customer = fixture.Cluster.Client.GetGrain<ICustomerGrain>(GrainKeys.Customer("cust-" + Guid.NewGuid().ToString("N")[..8]));
        var later = Term("later", 12, 12);
        var first = Term("first", 0, 12);

        Assert.True(await customer.AddContractAsync(later));
        Assert.True(await customer.AddContractAsync(first));
        // A retry of the same term is accepted; the same id with other dates is not.
        Assert.True(await customer.AddContractAsync(first));
        Assert.False(await customer.AddContractAsync(first with { End = first.End.AddMonths(1) }));
        // A term overlapping another by a day is refused; one that ends where the next starts is not an overlap.
        Assert.False(await customer.AddContractAsync(new ContractTerm("overlap", later.End.AddDays(-1), later.End.AddMonths(12))));
        var next = new ContractTerm("next", later.End, later.End.AddMonths(12));
        Assert.True(await customer.AddContractAsync(next));

        await fixture.Cluster.DeactivateAsync(customer);
        Assert.Equal([first, later, next], await customer.GetContractsAsync());
    }
}
