namespace ControlPlane.Contracts.Commits;

/// <summary>
/// Which contracts a customer has and when they run, keyed by <see cref="GrainKeys.Customer"/>: how usage
/// finds its contract, and how "one active contract at a time" is kept.
/// </summary>
[Alias("ICustomerGrain")]
public interface ICustomerGrain : IGrainWithStringKey
{
    /// <summary>Adds a contract's term; false when it overlaps another contract's. Idempotent for the same contract.</summary>
    [Alias("AddContractAsync")]
    Task<bool> AddContractAsync(ContractTerm term);

    [Alias("GetContractsAsync")]
    Task<List<ContractTerm>> GetContractsAsync();
}

/// <summary>When a contract runs: [Start, End).</summary>
[GenerateSerializer, Alias("contract-term")]
public sealed record ContractTerm(
    [property: Id(0)] string ContractId,
    [property: Id(1)] DateTimeOffset Start,
    [property: Id(2)] DateTimeOffset End)
{
    public bool Covers(DateTimeOffset at) => at >= Start && at < End;

    public bool Overlaps(ContractTerm other) => Start < other.End && other.Start < End;
}
