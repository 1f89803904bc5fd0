namespace ControlPlane.Domain.Partners;

/// <summary>Tokens/s of overflow sent to one partner, and what it charges for them.</summary>
[GenerateSerializer, Alias("partner-share")]
public sealed record PartnerShare(
    [property: Id(0)] string PartnerId,
    [property: Id(1)] decimal TokensPerSecond,
    [property: Id(2)] decimal UsdPer1MTokens)
{
    /// <summary>What the share costs per second at the partner's price (exact; for margin figures).</summary>
    public decimal UsdPerSecond => TokensPerSecond * UsdPer1MTokens / 1_000_000m;
}

/// <summary>
/// Where serverless demand beyond ready capacity goes: to the partners serving the model, cheapest first, each up to
/// its capacity (ties by partner id, so the same input always gives the same split). What no partner can take is not
/// routed anywhere: it is the demand left unserved.
/// </summary>
public static class PartnerRouting
{
    /// <param name="overflowTokensPerSecond">Demand no ready replica (own or dedicated slack) takes; negative counts as 0.</param>
    /// <param name="partnersForModel">Partners serving the deployment's model (the caller filters by model).</param>
    public static IReadOnlyList<PartnerShare> Split(decimal overflowTokensPerSecond, IReadOnlyList<Partner> partnersForModel)
    {
        ArgumentNullException.ThrowIfNull(partnersForModel);
        var left = overflowTokensPerSecond;
        var shares = new List<PartnerShare>();
        foreach (var partner in partnersForModel
                     .Where(p => p.CapacityTokensPerSecond > 0)
                     .OrderBy(p => p.UsdPer1MTokens)
                     .ThenBy(p => p.PartnerId, StringComparer.Ordinal))
        {
            if (left <= 0)
            {
                break;
            }

            var share = Math.Min(left, partner.CapacityTokensPerSecond);
            shares.Add(new PartnerShare(partner.PartnerId, share, partner.UsdPer1MTokens));
            left -= share;
        }

        return shares;
    }

    /// <summary>
    /// Splits the overflow of several deployments over partners whose capacity they share (a partner may serve several
    /// models, and one model may have several serverless deployments): each deployment in turn, by id, takes its
    /// <see cref="Split"/> of what the partners of its model have left, so no partner is offered more than its capacity.
    /// </summary>
    /// <param name="overflows">Per deployment: its model and the demand no ready replica takes.</param>
    /// <param name="partners">Every partner.</param>
    public static IReadOnlyDictionary<string, IReadOnlyList<PartnerShare>> Allocate(
        IReadOnlyList<(string DeploymentId, string Model, decimal OverflowTokensPerSecond)> overflows,
        IReadOnlyList<Partner> partners)
    {
        ArgumentNullException.ThrowIfNull(overflows);
        ArgumentNullException.ThrowIfNull(partners);
        var left = partners.ToDictionary(p => p.PartnerId, p => p.CapacityTokensPerSecond, StringComparer.Ordinal);
        var result = new Dictionary<string, IReadOnlyList<PartnerShare>>(StringComparer.Ordinal);
        foreach (var (deploymentId, model, overflow) in overflows.Where(o => o.OverflowTokensPerSecond > 0).OrderBy(o => o.DeploymentId, StringComparer.Ordinal))
        {
            var available = partners
                .Where(p => p.Serves(model) && left[p.PartnerId] > 0)
                .Select(p => p with { CapacityTokensPerSecond = left[p.PartnerId] })
                .ToArray();
            var shares = Split(overflow, available);
            foreach (var share in shares)
            {
                left[share.PartnerId] -= share.TokensPerSecond;
            }

            if (shares.Count > 0)
            {
                result[deploymentId] = shares;
            }
        }

        return result;
    }
}
