using ControlPlane.Domain.Commits;

namespace ControlPlane.Domain.Slas;

/// <summary>How long an SLO period is. Periods are cut from the contract's start date, so they nest in its quarters.</summary>
[GenerateSerializer, Alias("slo-period")]
public enum SloPeriod
{
    /// <summary>A month of the term: [start + m months, start + m + 1 months).</summary>
    Monthly = 0,
    /// <summary>A quarter of the term (the contract's own quarters).</summary>
    Quarterly = 1,
}

/// <summary>One step of a credit schedule: a period whose attainment is below <paramref name="BelowPercent"/> earns <paramref name="CreditPercent"/>.</summary>
/// <param name="BelowPercent">Attainment threshold in percent, above 0 and at most the target.</param>
/// <param name="CreditPercent">Share of the deployment's usage in the period credited, above 0 and at most 100.</param>
[GenerateSerializer, Alias("slo-credit-tier")]
public sealed record SloCreditTier(
    [property: Id(0)] decimal BelowPercent,
    [property: Id(1)] decimal CreditPercent);

/// <summary>
/// The SLO a contract promises for one dedicated deployment: an availability target over each period (the share of its
/// minutes in which ready capacity covered demand up to the reservation, <see cref="SloMinute"/>) and a credit schedule.
/// </summary>
/// <param name="DeploymentId">The dedicated deployment it covers.</param>
/// <param name="Period">Monthly or quarterly periods of the term.</param>
/// <param name="TargetPercent">The promised attainment, e.g. 99.9.</param>
/// <param name="Credits">Credit steps; a period earns the step with the lowest threshold it falls below (the largest credit).</param>
/// <param name="SetAt">When an operator set these terms: they govern every period that ends after it, until replaced.</param>
[GenerateSerializer, Alias("slo-terms")]
public sealed record SloTerms(
    [property: Id(0)] string DeploymentId,
    [property: Id(1)] SloPeriod Period,
    [property: Id(2)] decimal TargetPercent,
    [property: Id(3)] List<SloCreditTier> Credits,
    [property: Id(4)] DateTimeOffset SetAt)
{
    public const int MaxTiers = 10;

    /// <summary>Decimals a percentage may have (99.95, 99.9995).</summary>
    public const int MaxPercentDecimals = ContractTerms.MaxPercentDecimals;

    /// <summary>
    /// Field errors (empty when valid), keyed by the request's field names: the target above 0 and at most 100; 1 to
    /// <see cref="MaxTiers"/> credit steps, each threshold at most the target and all distinct, each credit above 0 and at
    /// most 100, a lower threshold always earning a larger credit; every percentage with at most 4 decimals.
    /// </summary>
    public IReadOnlyDictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (!Ids.IsValid(DeploymentId))
        {
            errors["deploymentId"] = [$"is required: {Ids.Rule}"];
        }

        if (!Enum.IsDefined(Period))
        {
            errors["period"] = ["must be monthly or quarterly"];
        }

        var targetValid = IsPercent(TargetPercent);
        if (!targetValid)
        {
            errors["targetPercent"] = [$"must be above 0 and at most 100, with at most {MaxPercentDecimals} decimals"];
        }

        if (Credits is null || Credits.Count is 0 or > MaxTiers)
        {
            errors["credits"] = [$"must have 1 to {MaxTiers} steps"];
            return errors;
        }

        for (var i = 0; i < Credits.Count; i++)
        {
            var tier = Credits[i];
            if (tier is null)
            {
                errors[$"credits[{i}]"] = ["is required"];
            }
            else if (!IsPercent(tier.BelowPercent) || (targetValid && tier.BelowPercent > TargetPercent))
            {
                errors[$"credits[{i}].belowPercent"] = [$"must be above 0 and at most the target, with at most {MaxPercentDecimals} decimals"];
            }
            else if (!IsPercent(tier.CreditPercent))
            {
                errors[$"credits[{i}].creditPercent"] = [$"must be above 0 and at most 100, with at most {MaxPercentDecimals} decimals"];
            }
        }

        if (errors.Count == 0)
        {
            var ordered = Credits.OrderByDescending(t => t.BelowPercent).ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                if (ordered[i].BelowPercent == ordered[i - 1].BelowPercent)
                {
                    errors["credits"] = [$"two steps share the threshold {ordered[i].BelowPercent}"];
                    break;
                }

                if (ordered[i].CreditPercent <= ordered[i - 1].CreditPercent)
                {
                    errors["credits"] = ["a lower threshold must earn a larger credit"];
                    break;
                }
            }
        }

        return errors;
    }

    /// <summary>The steps from the highest threshold down.</summary>
    public IEnumerable<SloCreditTier> TiersDescending() => Credits.OrderByDescending(t => t.BelowPercent);

    private static bool IsPercent(decimal value) =>
        value > 0 && value <= 100 && decimal.Round(value, MaxPercentDecimals) == value;
}
