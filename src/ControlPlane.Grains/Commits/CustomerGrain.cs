using ControlPlane.Contracts.Commits;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Commits;

public sealed class CustomerGrain(
    [PersistentState("customer", "store")] IPersistentState<CustomerState> state,
    ILogger<CustomerGrain> logger) : Grain, ICustomerGrain
{
    public async Task<bool> AddContractAsync(ContractTerm term)
    {
        var contracts = state.State.Contracts;
        if (contracts.Any(c => c.ContractId == term.ContractId))
        {
            return contracts.Single(c => c.ContractId == term.ContractId) == term;
        }

        if (contracts.Any(c => c.Overlaps(term)))
        {
            return false;
        }

        contracts.Add(term);
        contracts.Sort((a, b) => a.Start.CompareTo(b.Start));
        await state.WriteOrReloadAsync(this, logger);
        return true;
    }

    public Task<List<ContractTerm>> GetContractsAsync() => Task.FromResult(state.State.Contracts.ToList());
}
