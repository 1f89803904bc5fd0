namespace ControlPlane.Domain.Commits;

/// <summary>A dollar commit: what the customer pays every quarter of the term, and the rate its usage is priced at.</summary>
/// <param name="ContractId">Id of the contract; part of invoice ids, so letters, digits, '-', '_' and '.' only.</param>
/// <param name="CustomerId">The customer whose usage the contract covers.</param>
/// <param name="StartDate">First day of the term (UTC); see <see cref="QuarterCalendar"/> for the quarters.</param>
/// <param name="Quarters">Length of the term, 1 to <see cref="MaxQuarters"/>.</param>
/// <param name="QuarterlyCommitCents">Commit per quarter before true-ups, in cents; more than zero.</param>
/// <param name="DiscountPercent">Discount on list prices, 0 up to (not including) 100.</param>
/// <param name="RolloverCapPercent">Share of a quarter's unused balance that rolls into the next, 0 to 100.</param>
[GenerateSerializer, Alias("contract-terms")]
public sealed record ContractTerms(
    [property: Id(0)] string ContractId,
    [property: Id(1)] string CustomerId,
    [property: Id(2)] DateOnly StartDate,
    [property: Id(3)] int Quarters,
    [property: Id(4)] long QuarterlyCommitCents,
    [property: Id(5)] decimal DiscountPercent,
    [property: Id(6)] decimal RolloverCapPercent = ContractTerms.DefaultRolloverCapPercent)
{
    public const int MaxQuarters = 40;
    public const decimal DefaultRolloverCapPercent = 100m;

    /// <summary>Decimals a percentage may have (12.5%, 33.3333%).</summary>
    public const int MaxPercentDecimals = 4;

    /// <summary>Longest contract or customer id.</summary>
    public const int MaxIdLength = Ids.MaxLength;

    private static readonly DateOnly EarliestStart = new(2000, 1, 1);
    private static readonly DateOnly LatestStart = new(2999, 12, 31);

    /// <summary>The term's quarters.</summary>
    public QuarterCalendar Calendar() => new(StartDate, Quarters);

    /// <summary>
    /// Field errors (empty when valid), keyed by the request's field names, for a 400 <c>ValidationProblem</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (!Ids.IsValid(ContractId))
        {
            errors["contractId"] = [$"is required: {Ids.Rule}"];
        }

        if (!Ids.IsValid(CustomerId))
        {
            errors["customerId"] = [$"is required: {Ids.Rule}"];
        }

        if (StartDate < EarliestStart || StartDate > LatestStart)
        {
            errors["startDate"] = [$"must be between {EarliestStart:yyyy-MM-dd} and {LatestStart:yyyy-MM-dd}"];
        }

        if (Quarters is < 1 or > MaxQuarters)
        {
            errors["quarters"] = [$"must be between 1 and {MaxQuarters}"];
        }

        if (QuarterlyCommitCents is <= 0 or > Money.MaxCents)
        {
            errors["quarterlyCommitUsd"] = [$"must be more than 0 and at most {Money.MaxUsd} USD"];
        }

        if (DiscountPercent is < 0 or >= 100)
        {
            errors["discountPercent"] = ["must be at least 0 and below 100"];
        }
        else if (decimal.Round(DiscountPercent, MaxPercentDecimals) != DiscountPercent)
        {
            errors["discountPercent"] = [$"must have at most {MaxPercentDecimals} decimals"];
        }

        if (RolloverCapPercent is < 0 or > 100)
        {
            errors["rolloverCapPercent"] = ["must be between 0 and 100"];
        }
        else if (decimal.Round(RolloverCapPercent, MaxPercentDecimals) != RolloverCapPercent)
        {
            errors["rolloverCapPercent"] = [$"must have at most {MaxPercentDecimals} decimals"];
        }

        return errors;
    }
}

/// <summary>
/// More committed dollars for the rest of the term at the same rate: raises the commit of
/// <paramref name="EffectiveQuarter"/> and of every later quarter by <paramref name="AdditionalQuarterlyCommitCents"/>.
/// </summary>
/// <param name="AdditionalQuarterlyCommitCents">Added to each quarter's commit, in cents; more than zero.</param>
/// <param name="EffectiveQuarter">First quarter it raises; must not be closed.</param>
/// <param name="RequestId">
/// The request's idempotency key, when it has one: a true-up with a key already applied is the same
/// true-up, so a retried request never raises the commit twice.
/// </param>
[GenerateSerializer, Alias("true-up")]
public sealed record TrueUp(
    [property: Id(0)] long AdditionalQuarterlyCommitCents,
    [property: Id(1)] int EffectiveQuarter,
    [property: Id(2)] string? RequestId = null)
{
    /// <summary>
    /// Field errors (empty when valid) for a true-up of <paramref name="terms"/> when quarters before
    /// <paramref name="firstOpenQuarter"/> are closed: a closed quarter is final, so a true-up can only
    /// take effect in the first open quarter or later.
    /// </summary>
    public IReadOnlyDictionary<string, string[]> Validate(ContractTerms terms, int firstOpenQuarter)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (AdditionalQuarterlyCommitCents is <= 0 or > Money.MaxCents)
        {
            errors["additionalQuarterlyCommitUsd"] = [$"must be more than 0 and at most {Money.MaxUsd} USD"];
        }

        if (EffectiveQuarter < 1 || EffectiveQuarter > terms.Quarters)
        {
            errors["effectiveQuarter"] = [$"must be between 1 and {terms.Quarters}"];
        }
        else if (firstOpenQuarter > terms.Quarters)
        {
            errors["effectiveQuarter"] = ["every quarter of the term is closed"];
        }
        else if (EffectiveQuarter < firstOpenQuarter)
        {
            errors["effectiveQuarter"] = [$"quarter {EffectiveQuarter} is closed; the first open quarter is {firstOpenQuarter}"];
        }

        return errors;
    }
}
