using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Metering;

namespace ControlPlane.Domain.Partners;

/// <summary>
/// A distribution partner as a route: the models it serves, what it charges and how much it takes. The gateway sends
/// it the serverless demand no ready replica can take, cheapest partner first (<see cref="PartnerRouting"/>).
/// </summary>
/// <param name="PartnerId">The project's id rule (<see cref="Ids.IsValid"/>).</param>
/// <param name="Models">Models it serves, each once, compared with deployments' models ordinally.</param>
/// <param name="UsdPer1MTokens">What it charges per million tokens: exact, like a list price.</param>
/// <param name="CapacityTokensPerSecond">The most it takes.</param>
[GenerateSerializer, Alias("partner")]
public sealed record Partner(
    [property: Id(0)] string PartnerId,
    [property: Id(1)] string[] Models,
    [property: Id(2)] decimal UsdPer1MTokens,
    [property: Id(3)] decimal CapacityTokensPerSecond)
{
    public const int MaxModels = 64;

    /// <summary>A capacity above this is not a rate any partner serves: a unit mistake.</summary>
    public const decimal MaxCapacityTokensPerSecond = 1_000_000_000m;

    public bool Serves(string model) => Models.Contains(model, StringComparer.Ordinal);

    /// <summary>Field errors (empty when valid), keyed by the request's field names, for a 400 <c>ValidationProblem</c>.</summary>
    public IReadOnlyDictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (!Ids.IsValid(PartnerId))
        {
            errors["partnerId"] = [$"must be {Ids.Rule}"];
        }

        if (Models is null || Models.Length is 0 or > MaxModels)
        {
            errors["models"] = [$"is required: 1 to {MaxModels} model names"];
        }
        else if (!Models.All(IsValidModel))
        {
            errors["models"] = [$"must list model names of 1 to {DeploymentSpec.MaxModelLength} characters, {FreeText.Rule}"];
        }
        else if (Models.Distinct(StringComparer.Ordinal).Count() != Models.Length)
        {
            errors["models"] = ["must list each model once"];
        }

        if (UsdPer1MTokens < 0 || UsdPer1MTokens > Rate.MaxUsdPer1M)
        {
            errors["usdPer1MTokens"] = [$"must be between 0 and {Rate.MaxUsdPer1M} USD per million tokens"];
        }
        else if (decimal.Round(UsdPer1MTokens, Rate.MaxDecimals) != UsdPer1MTokens)
        {
            errors["usdPer1MTokens"] = [$"must have at most {Rate.MaxDecimals} decimals"];
        }

        if (CapacityTokensPerSecond <= 0 || CapacityTokensPerSecond > MaxCapacityTokensPerSecond)
        {
            errors["capacityTokensPerSecond"] = [$"must be more than 0 and at most {MaxCapacityTokensPerSecond}"];
        }
        else if (decimal.Round(CapacityTokensPerSecond, DeploymentSpec.MaxTokensDecimals) != CapacityTokensPerSecond)
        {
            errors["capacityTokensPerSecond"] = [$"must have at most {DeploymentSpec.MaxTokensDecimals} decimals"];
        }

        return errors;
    }

    /// <summary>The model-name rule deployments follow, so a partner can serve any model a deployment can name.</summary>
    public static bool IsValidModel(string? model) => DeploymentSpec.IsValidModel(model);

    /// <summary>Value equality, models compared element by element (a repeated PUT is the same partner).</summary>
    public bool Equals(Partner? other) =>
        other is not null
        && PartnerId == other.PartnerId
        && ValueArrays.Equal(Models, other.Models)
        && UsdPer1MTokens == other.UsdPer1MTokens
        && CapacityTokensPerSecond == other.CapacityTokensPerSecond;

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(PartnerId);
        ValueArrays.Add(ref hash, Models);
        hash.Add(UsdPer1MTokens);
        hash.Add(CapacityTokensPerSecond);
        return hash.ToHashCode();
    }
}
