using ControlPlane.Contracts.Commits;

namespace ControlPlane.Grains.Commits;

[GenerateSerializer, Alias("customer-state")]
public sealed class CustomerState
{
    [Id(0)] public List<ContractTerm> Contracts { get; set; } = [];
}
