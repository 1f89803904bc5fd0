using System.Text.Json.Serialization;
using ControlPlane.Contracts.Commits;
using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Slas;

namespace ControlPlane.Server.Api.Commits;

/// <summary>One step of a credit schedule: attainment below <c>belowPercent</c> earns <c>creditPercent</c> of the period's usage.</summary>
public sealed record SloCreditRequest(decimal? BelowPercent, decimal? CreditPercent);

/// <summary>The SLO a contract promises for one dedicated deployment.</summary>
/// <param name="Period"><c>monthly</c> or <c>quarterly</c> (periods of the term, from its start date).</param>
public sealed record SetSloRequest(string? Period, decimal? TargetPercent, IReadOnlyList<SloCreditRequest?>? Credits);

public sealed record SloCreditResponse(decimal BelowPercent, decimal CreditPercent);

public sealed record SloResponse(string ContractId, string DeploymentId, string Period, decimal TargetPercent, IReadOnlyList<SloCreditResponse> Credits, DateTimeOffset SetAt)
{
    public static SloResponse From(string contractId, SloTerms t) => new(
        contractId, t.DeploymentId, SlaMessages.PeriodName(t.Period), SlaMessages.Percent(t.TargetPercent),
        t.Credits.Select(c => new SloCreditResponse(SlaMessages.Percent(c.BelowPercent), SlaMessages.Percent(c.CreditPercent))).ToArray(), t.SetAt);
}

/// <summary>
/// The measurement behind an <c>sla-credit</c> line or an SLO period: minutes the deployment existed in the period, met
/// (ready capacity covered demand up to the reservation all minute), missed, and unmeasured (counted as not met).
/// </summary>
public sealed record SlaMeasurementResponse(
    string DeploymentId,
    DateOnly PeriodStart,
    DateOnly PeriodEnd,
    long Minutes,
    long MetMinutes,
    long MissedMinutes,
    long UnmeasuredMinutes,
    decimal? AttainmentPercent,
    decimal TargetPercent,
    decimal? BelowPercent,
    decimal? CreditPercent,
    string UsageUsd);

/// <summary>One SLO period: its measurement and credit (final once its quarter closed, else as it stands now).</summary>
public sealed record SlaPeriodResponse(
    int Quarter,
    SlaMeasurementResponse Measurement,
    string CreditUsd,
    bool Final,
    string? InvoiceId)
{
    public static SlaPeriodResponse From(SlaPeriodView v) => new(
        v.Period.Quarter,
        new SlaMeasurementResponse(
            v.Terms.DeploymentId, v.Period.Start, v.Period.End,
            v.Measurement.Minutes, v.Measurement.MetMinutes, v.Measurement.MissedMinutes, v.Measurement.UnmeasuredMinutes,
            SlaMessages.Percent(v.Measurement.AttainmentPercent), SlaMessages.Percent(v.Terms.TargetPercent),
            SlaMessages.Percent(v.Tier?.BelowPercent), SlaMessages.Percent(v.Tier?.CreditPercent), Money.Format(v.UsageCents)),
        Money.Format(v.CreditCents),
        v.Final,
        v.InvoiceId);
}

public static class SlaMessages
{
    /// <summary>
    /// A percentage without trailing zeros (<c>99</c>, <c>99.9</c>): stored decimals can come back from the store with
    /// another scale (<c>99.0</c>), and a response must not change when nothing did.
    /// </summary>
    public static decimal Percent(decimal value) => value / 1.0000000000000000000000000000m;

    public static decimal? Percent(decimal? value) => value is { } v ? Percent(v) : null;

    public static string PeriodName(SloPeriod period) => period == SloPeriod.Monthly ? "monthly" : "quarterly";

    /// <summary>The measurement an <c>sla-credit</c> invoice line carries.</summary>
    public static SlaMeasurementResponse From(SlaCreditDetail d) => new(
        d.DeploymentId, d.PeriodStart, d.PeriodEnd, d.Minutes, d.MetMinutes, d.MissedMinutes, d.Minutes - d.MetMinutes - d.MissedMinutes,
        Percent(d.AttainmentPercent), Percent(d.TargetPercent), Percent(d.BelowPercent), Percent(d.CreditPercent), Money.Format(d.UsageCents));

    /// <summary>The request as terms (set at <paramref name="now"/>), or its field errors.</summary>
    public static (SloTerms? Terms, Dictionary<string, string[]> Errors) ToTerms(string deploymentId, SetSloRequest r, DateTimeOffset now)
    {
        var errors = new Dictionary<string, string[]>();
        SloPeriod? period = r.Period switch
        {
            "monthly" => SloPeriod.Monthly,
            "quarterly" => SloPeriod.Quarterly,
            _ => null,
        };
        if (period is null)
        {
            errors["period"] = ["Required: monthly or quarterly."];
        }

        if (r.TargetPercent is null)
        {
            errors["targetPercent"] = ["Required: the promised share of minutes, e.g. 99.9."];
        }

        if (r.Credits is null || r.Credits.Count == 0)
        {
            errors["credits"] = ["Required: at least one step {belowPercent, creditPercent}."];
        }
        else
        {
            for (var i = 0; i < r.Credits.Count; i++)
            {
                if (r.Credits[i] is not { BelowPercent: not null, CreditPercent: not null })
                {
                    errors[$"credits[{i}]"] = ["Required: belowPercent and creditPercent."];
                }
            }
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var terms = new SloTerms(
            deploymentId, period!.Value, r.TargetPercent!.Value,
            r.Credits!.Select(c => new SloCreditTier(c!.BelowPercent!.Value, c.CreditPercent!.Value)).ToList(), now);
        var invalid = terms.Validate();
        return invalid.Count > 0 ? (null, new Dictionary<string, string[]>(invalid)) : (terms, errors);
    }
}
