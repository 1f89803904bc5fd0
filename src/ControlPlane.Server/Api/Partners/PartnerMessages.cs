using ControlPlane.Domain.Partners;

namespace ControlPlane.Server.Api.Partners;

/// <summary>
/// Body of <c>PUT /admin/v1/partners/{id}</c>: the whole partner (a PUT replaces it). The price may be a JSON number or
/// a string (<c>"0.90"</c>), exact, at most 6 decimals, like a list price.
/// </summary>
/// <param name="Models">Models it serves, each once.</param>
/// <param name="UsdPer1MTokens">What it charges per million tokens.</param>
/// <param name="CapacityTokensPerSecond">The most it takes, more than 0.</param>
public sealed record PutPartnerRequest(string[]? Models, decimal? UsdPer1MTokens, decimal? CapacityTokensPerSecond);

public sealed record PartnerResponse(string PartnerId, IReadOnlyList<string> Models, decimal UsdPer1MTokens, decimal CapacityTokensPerSecond)
{
    public static PartnerResponse From(Partner p) => new(p.PartnerId, p.Models, p.UsdPer1MTokens, p.CapacityTokensPerSecond);
}

public static class PartnerMapping
{
    /// <summary>The partner a request asks for, or the field errors.</summary>
    public static (Partner? Partner, Dictionary<string, string[]> Errors) ToPartner(string partnerId, PutPartnerRequest? request)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request is null)
        {
            errors["body"] = ["Required: {models, usdPer1MTokens, capacityTokensPerSecond}."];
            return (null, errors);
        }

        if (request.Models is null)
        {
            errors["models"] = ["Required."];
        }

        if (request.UsdPer1MTokens is null)
        {
            errors["usdPer1MTokens"] = ["Required."];
        }

        if (request.CapacityTokensPerSecond is null)
        {
            errors["capacityTokensPerSecond"] = ["Required."];
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var partner = new Partner(partnerId, request.Models!, request.UsdPer1MTokens!.Value, request.CapacityTokensPerSecond!.Value);
        foreach (var (field, problems) in partner.Validate())
        {
            errors[field] = problems;
        }

        return errors.Count == 0 ? (partner, errors) : (null, errors);
    }
}
