using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;

namespace ControlPlane.Domain.Slas;

/// <summary>What one SLO period of one deployment is judged on: its terms, its measurement and its usage.</summary>
/// <param name="Terms">The SLO terms in force for the period (<see cref="SlaCredits.InForce"/>).</param>
/// <param name="Period">The period.</param>
/// <param name="Measurement">Its minutes, as measured when the invoice is made.</param>
/// <param name="Usage">The deployment's usage in the period at list rates (its events' timestamps fall in it).</param>
public sealed record SlaPeriodInput(
    SloTerms Terms,
    SloPeriodSpan Period,
    SloMeasurement Measurement,
    IReadOnlyList<UsageAggregate> Usage);

/// <summary>
/// The measurement behind an <c>sla-credit</c> invoice line, kept on the line so the invoice shows why it was given.
/// </summary>
[GenerateSerializer, Alias("sla-credit-detail")]
public sealed record SlaCreditDetail(
    [property: Id(0)] string DeploymentId,
    [property: Id(1)] DateOnly PeriodStart,
    [property: Id(2)] DateOnly PeriodEnd,
    [property: Id(3)] long Minutes,
    [property: Id(4)] long MetMinutes,
    [property: Id(5)] long MissedMinutes,
    [property: Id(6)] decimal AttainmentPercent,
    [property: Id(7)] decimal TargetPercent,
    [property: Id(8)] decimal BelowPercent,
    [property: Id(9)] decimal CreditPercent,
    [property: Id(10)] long UsageCents);

/// <summary>A period's verdict: its tier (null when none was earned) and the credit in cents (0 without a tier).</summary>
public sealed record SlaAssessment(SlaPeriodInput Input, SloCreditTier? Tier, long UsageCents, long CreditCents);

/// <summary>
/// SLA credits (the contract's SLO terms honoured with money). A period earns the credit step with the lowest threshold
/// its attainment is below (compared exactly, as met x 100 &lt; threshold x minutes). The credit is that step's share of
/// the deployment's usage in the period priced at the contract's rate: exact in <see cref="decimal"/>
/// (<see cref="Pricing.PriceUsd"/> x percent / 100) and rounded to cents once, half away from zero; the invoice line is
/// its negative. A period with no minutes of the deployment earns nothing.
/// </summary>
public static class SlaCredits
{
    /// <summary>The terms governing a period: the last set before the period ended; null when none was.</summary>
    public static SloTerms? InForce(IEnumerable<SloTerms> history, string deploymentId, SloPeriodSpan period) =>
        history.LastOrDefault(t => string.Equals(t.DeploymentId, deploymentId, StringComparison.Ordinal) && t.SetAt < period.EndAt);

    /// <summary>Judges one period at <paramref name="discountPercent"/> (the contract's).</summary>
    public static SlaAssessment Assess(SlaPeriodInput input, decimal discountPercent)
    {
        var usageUsd = Pricing.PriceUsd(input.Usage, discountPercent);
        var usageCents = Money.RoundToCents(usageUsd);
        var tier = input.Terms.Credits.Where(t => input.Measurement.Below(t.BelowPercent)).OrderBy(t => t.BelowPercent).FirstOrDefault();
        var credit = tier is null ? 0 : Money.RoundToCents(usageUsd * tier.CreditPercent / 100m);
        return new SlaAssessment(input, tier, usageCents, credit);
    }

    /// <summary>
    /// The <c>sla-credit</c> lines of one quarter's close: one per period that earned a credit of at least a cent,
    /// ordered by deployment and period.
    /// </summary>
    public static List<InvoiceLine> Lines(IEnumerable<SlaPeriodInput> inputs, decimal discountPercent) =>
        inputs
            .Select(i => Assess(i, discountPercent))
            .Where(a => a.CreditCents > 0)
            .OrderBy(a => a.Input.Terms.DeploymentId, StringComparer.Ordinal)
            .ThenBy(a => a.Input.Period.Start)
            .Select(a => new InvoiceLine(InvoiceLineKind.SlaCredit, a.Input.Period.Quarter, -a.CreditCents, Detail(a)))
            .ToList();

    /// <summary>The measurement behind an assessed period, as an invoice line (or a view) shows it.</summary>
    public static SlaCreditDetail Detail(SlaAssessment a)
    {
        var m = a.Input.Measurement;
        return new SlaCreditDetail(
            a.Input.Terms.DeploymentId, a.Input.Period.Start, a.Input.Period.End,
            m.Minutes, m.MetMinutes, m.MissedMinutes, m.AttainmentPercent ?? 100m,
            a.Input.Terms.TargetPercent, a.Tier?.BelowPercent ?? 0m, a.Tier?.CreditPercent ?? 0m, a.UsageCents);
    }
}
