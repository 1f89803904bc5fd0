using ControlPlane.Contracts.Partners;
using ControlPlane.Domain.Partners;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Partners;

/// <summary>The distribution partners; written only when an operator changes one. Callers validate first.</summary>
public sealed partial class PartnerDirectoryGrain(
    [PersistentState("partner-directory", "store")] IPersistentState<PartnerDirectoryState> state,
    ILogger<PartnerDirectoryGrain> logger) : Grain, IPartnerDirectoryGrain
{
    private PartnerDirectoryState S => state.State;

    public async Task<PartnerPutResult> PutAsync(Partner partner)
    {
        ArgumentNullException.ThrowIfNull(partner);
        if (partner.Validate().Count > 0)
        {
            // The API validates; a grain caller that did not gets an error, never a stored bad partner.
            throw new ArgumentException($"Partner '{partner.PartnerId}' is not valid.", nameof(partner));
        }

        var known = S.Partners.TryGetValue(partner.PartnerId, out var stored);
        if (known && stored!.Equals(partner))
        {
            return new PartnerPutResult(PartnerPutStatus.Unchanged, stored);
        }

        S.Partners[partner.PartnerId] = partner;
        S.Version++;
        await state.WriteOrReloadAsync(this, logger);
        LogPut(partner.PartnerId, partner.Models.Length, partner.UsdPer1MTokens, partner.CapacityTokensPerSecond);
        return new PartnerPutResult(known ? PartnerPutStatus.Updated : PartnerPutStatus.Created, partner);
    }

    public Task<Partner?> GetAsync(string partnerId) => Task.FromResult(S.Partners.GetValueOrDefault(partnerId));

    public Task<PartnerList> ListAsync() => Task.FromResult(new PartnerList(
        S.Version,
        S.Partners.Values.OrderBy(p => p.PartnerId, StringComparer.Ordinal).ToArray()));

    public async Task<bool> DeleteAsync(string partnerId)
    {
        if (!S.Partners.Remove(partnerId))
        {
            return false;
        }

        S.Version++;
        await state.WriteOrReloadAsync(this, logger);
        LogDeleted(partnerId);
        return true;
    }
}
