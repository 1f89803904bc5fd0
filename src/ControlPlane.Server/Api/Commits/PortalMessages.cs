using ControlPlane.Contracts.Commits;
using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;

namespace ControlPlane.Server.Api.Commits;

/// <summary>
/// The current quarter's balance and where it is heading at the burn so far this quarter (the customer portal's
/// first figures). Money in dollars, exact to the cent, as text.
/// </summary>
/// <param name="RemainingUsd">Available less used, never below 0 (what is used beyond it is <paramref name="OverageUsd"/>).</param>
/// <param name="RunsOutAt">When the available balance is used up at the current burn; null when it lasts the quarter.</param>
/// <param name="ProjectedUsageUsd">The quarter's usage at the current burn over its whole length.</param>
/// <param name="TrueUpUsd">
/// The additional quarterly commit, effective from this quarter, that would cover every remaining quarter of the term at
/// the current burn; 0.00 when the commit does.
/// </param>
public sealed record ContractForecastResponse(
    string ContractId,
    DateTimeOffset AsOf,
    int Quarter,
    DateTimeOffset QuarterStart,
    DateTimeOffset QuarterEnd,
    string CommitUsd,
    string RolloverInUsd,
    string AvailableUsd,
    string UsedUsd,
    string RemainingUsd,
    string OverageUsd,
    string BurnUsdPerDay,
    DateTimeOffset? RunsOutAt,
    string ProjectedUsageUsd,
    string TrueUpUsd)
{
    public static ContractForecastResponse From(string contractId, DateTimeOffset now, QuarterLine line, CommitForecast forecast) => new(
        contractId,
        now,
        line.Quarter,
        line.Start,
        line.End,
        Money.Format(line.CommitCents),
        Money.Format(line.RolloverInCents),
        Money.Format(line.AvailableCents),
        Money.Format(line.UsageCents),
        Money.Format(line.UnusedCents),
        Money.Format(line.OverageCents),
        Money.Format(forecast.BurnCentsPerDay),
        forecast.RunsOutAt,
        Money.Format(forecast.ProjectedUsageCents),
        Money.Format(forecast.TrueUpCents));
}

/// <summary>One model's usage on one UTC day, at the contract's discounted rate.</summary>
/// <param name="AmountUsd">Rounded to the cent for the day alone: the quarter's usage is rounded once, so the days may differ from it by cents.</param>
public sealed record DailyUsageResponse(DateOnly Day, string Model, long InputTokens, long OutputTokens, string AmountUsd);

/// <summary>A quarter's usage by day and model.</summary>
public sealed record QuarterUsageResponse(string ContractId, int Quarter, IReadOnlyList<DailyUsageResponse> Days)
{
    public static QuarterUsageResponse From(string contractId, int quarter, decimal discountPercent, IEnumerable<(DateOnly Day, IReadOnlyList<UsageAggregate> Usage)> days) => new(
        contractId,
        quarter,
        days.SelectMany(d => d.Usage
                .GroupBy(u => u.Model, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new DailyUsageResponse(d.Day, g.Key, g.Sum(u => u.InputTokens), g.Sum(u => u.OutputTokens), Money.Format(Pricing.PriceCents(g, discountPercent)))))
            .ToArray());
}
