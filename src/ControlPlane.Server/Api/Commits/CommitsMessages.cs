using ControlPlane.Domain;
using ControlPlane.Contracts.Commits;
using ControlPlane.Domain.Commits;

namespace ControlPlane.Server.Api.Commits;

/// <summary>A new contract. Money may be a JSON number or a string (<c>"250000.00"</c>), exact to the cent.</summary>
public sealed record CreateContractRequest(
    string? ContractId,
    string? CustomerId,
    DateOnly? StartDate,
    int? Quarters,
    decimal? QuarterlyCommitUsd,
    decimal? DiscountPercent,
    decimal? RolloverCapPercent);

/// <summary>More committed dollars a quarter from <c>effectiveQuarter</c> on.</summary>
public sealed record TrueUpRequest(decimal? AdditionalQuarterlyCommitUsd, int? EffectiveQuarter);

public sealed record TrueUpResponse(InvoiceResponse? Invoice, ContractResponse Contract);

public sealed record ContractTermsResponse(
    DateOnly StartDate,
    DateOnly EndDate,
    int Quarters,
    string QuarterlyCommitUsd,
    decimal DiscountPercent,
    decimal RolloverCapPercent);

public sealed record TrueUpView(string AdditionalQuarterlyCommitUsd, int EffectiveQuarter);

public sealed record QuarterResponse(
    int Quarter,
    DateTimeOffset Start,
    DateTimeOffset End,
    string CommitUsd,
    string RolloverInUsd,
    string AvailableUsd,
    string UsageUsd,
    string CoveredUsd,
    string OverageUsd,
    string UnusedUsd,
    string RolloverOutUsd,
    bool Closed);

public sealed record ModelUsageResponse(string Model, long InputTokens, long OutputTokens, string AmountUsd);

/// <summary>A contract: its terms, the quarter book so far, and usage by model.</summary>
public sealed record ContractResponse(
    string ContractId,
    string CustomerId,
    ContractTermsResponse Terms,
    IReadOnlyList<TrueUpView> TrueUps,
    IReadOnlyList<QuarterResponse> Quarters,
    IReadOnlyList<ModelUsageResponse> UsageByModel,
    string PendingLateUsageUsd,
    IReadOnlyList<SloResponse> Slos)
{
    public static ContractResponse From(ContractView view)
    {
        var t = view.Terms;
        var calendar = t.Calendar();
        return new ContractResponse(
            t.ContractId,
            t.CustomerId,
            new ContractTermsResponse(t.StartDate, calendar.EndDay(t.Quarters), t.Quarters, Money.Format(t.QuarterlyCommitCents), t.DiscountPercent, t.RolloverCapPercent),
            view.TrueUps.Select(u => new TrueUpView(Money.Format(u.AdditionalQuarterlyCommitCents), u.EffectiveQuarter)).ToArray(),
            view.Quarters.Select(q => new QuarterResponse(
                q.Quarter, q.Start, q.End,
                Money.Format(q.CommitCents), Money.Format(q.RolloverInCents), Money.Format(q.AvailableCents),
                Money.Format(q.UsageCents), Money.Format(q.CoveredCents), Money.Format(q.OverageCents),
                Money.Format(q.UnusedCents), Money.Format(q.RolloverOutCents), q.Closed)).ToArray(),
            view.UsageByModel.Select(m => new ModelUsageResponse(m.Model, m.InputTokens, m.OutputTokens, Money.Format(m.AmountCents))).ToArray(),
            Money.Format(view.PendingLateUsageCents),
            (view.Slos ?? []).Select(slo => SloResponse.From(t.ContractId, slo)).ToArray());
    }
}

/// <param name="Sla">For an <c>sla-credit</c> line (a negative amount), the measurement behind it; absent on other lines.</param>
public sealed record InvoiceLineResponse(
    string Kind,
    int Quarter,
    string AmountUsd,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] SlaMeasurementResponse? Sla = null);

public sealed record InvoiceResponse(string InvoiceId, DateTimeOffset IssuedAt, IReadOnlyList<InvoiceLineResponse> Lines, string TotalUsd)
{
    public static InvoiceResponse From(Invoice invoice) => new(
        invoice.InvoiceId,
        invoice.IssuedAt,
        invoice.Lines.Select(l => new InvoiceLineResponse(KindName(l.Kind), l.Quarter, Money.Format(l.AmountCents), l.Sla is null ? null : SlaMessages.From(l.Sla))).ToArray(),
        Money.Format(invoice.TotalCents));

    private static string KindName(InvoiceLineKind kind) => kind switch
    {
        InvoiceLineKind.Commit => "commit",
        InvoiceLineKind.Overage => "overage",
        InvoiceLineKind.TrueUp => "true-up",
        InvoiceLineKind.LateUsage => "late-usage",
        InvoiceLineKind.SlaCredit => "sla-credit",
        _ => kind.ToString().ToLowerInvariant(),
    };
}

public static class CommitsValidation
{
    public static (ContractTerms? Terms, Dictionary<string, string[]> Errors) ToTerms(CreateContractRequest r)
    {
        var errors = new Dictionary<string, string[]>();
        if (!Ids.IsValid(r.ContractId))
        {
            errors["contractId"] = ["Required: letters, digits, '-', '_' and '.', at most 100 characters."];
        }

        if (!Ids.IsValid(r.CustomerId))
        {
            errors["customerId"] = ["Required: letters, digits, '-', '_' and '.', at most 100 characters."];
        }

        if (r.StartDate is null)
        {
            errors["startDate"] = ["Required: the first day of the term, e.g. \"2026-01-01\"."];
        }

        if (r.Quarters is null)
        {
            errors["quarters"] = ["Required: the number of quarters in the term."];
        }

        long commit = 0;
        if (r.QuarterlyCommitUsd is not { } usd || !Money.TryParseUsd(usd, out commit) || commit == 0)
        {
            errors["quarterlyCommitUsd"] = ["Required: dollars a quarter, more than 0, at most 2 decimals."];
        }

        if (r.DiscountPercent is null)
        {
            errors["discountPercent"] = ["Required: the discount on list prices, 0 to less than 100."];
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var terms = new ContractTerms(
            r.ContractId!, r.CustomerId!, r.StartDate!.Value, r.Quarters!.Value, commit, r.DiscountPercent!.Value,
            r.RolloverCapPercent ?? ContractTerms.DefaultRolloverCapPercent);
        var invalid = terms.Validate();
        return invalid.Count > 0 ? (null, new Dictionary<string, string[]>(invalid)) : (terms, errors);
    }
}
