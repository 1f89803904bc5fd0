using ControlPlane.Domain.Partners;

namespace ControlPlane.Contracts.Partners;

/// <summary>
/// The distribution partners of the cluster, keyed by <see cref="GrainKeys.PartnerDirectory"/>. Partners change
/// rarely (an operator's PUT or DELETE); the gateway's routing answer reads them through a per-silo cached copy, so
/// this grain is not on the request path.
/// </summary>
[Alias("IPartnerDirectoryGrain")]
public interface IPartnerDirectoryGrain : IGrainWithStringKey
{
    /// <summary>Adds or replaces a partner; putting the same terms again changes nothing (and writes nothing).</summary>
    [Alias("PutAsync")]
    Task<PartnerPutResult> PutAsync(Partner partner);

    [Alias("GetAsync")]
    Task<Partner?> GetAsync(string partnerId);

    /// <summary>Every partner, by id, with a version that grows with every change.</summary>
    [Alias("ListAsync")]
    Task<PartnerList> ListAsync();

    /// <summary>Forgets a partner; false when there was none.</summary>
    [Alias("DeleteAsync")]
    Task<bool> DeleteAsync(string partnerId);
}

[GenerateSerializer, Alias("partner-put-status")]
public enum PartnerPutStatus
{
    Created,
    Updated,
    /// <summary>The same terms were already stored.</summary>
    Unchanged,
}

[GenerateSerializer, Alias("partner-put-result")]
public sealed record PartnerPutResult(
    [property: Id(0)] PartnerPutStatus Status,
    [property: Id(1)] Partner Partner);

[GenerateSerializer, Alias("partner-list")]
public sealed record PartnerList(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyList<Partner> Partners);
