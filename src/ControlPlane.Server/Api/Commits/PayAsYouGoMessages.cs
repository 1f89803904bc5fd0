using ControlPlane.Contracts.Commits;
using ControlPlane.Domain;
using ControlPlane.Domain.Commits;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ControlPlane.Server.Api.Commits;

/// <summary>One line of a pay-as-you-go invoice: a model's tokens in one month at one list rate.</summary>
public sealed record PayAsYouGoLineResponse(
    string Kind,
    string Month,
    string Model,
    long InputTokens,
    long OutputTokens,
    decimal InputUsdPer1M,
    decimal OutputUsdPer1M,
    string AmountUsd);

/// <summary>A pay-as-you-go invoice: usage of its month (and late usage of earlier months) at list price.</summary>
public sealed record PayAsYouGoInvoiceResponse(
    string InvoiceId,
    string CustomerId,
    string Month,
    DateTimeOffset IssuedAt,
    IReadOnlyList<PayAsYouGoLineResponse> Lines,
    string TotalUsd)
{
    public static PayAsYouGoInvoiceResponse From(PayAsYouGoInvoice invoice) => new(
        invoice.InvoiceId,
        invoice.CustomerId,
        BillingMonths.Format(invoice.Month),
        invoice.IssuedAt,
        invoice.Lines.Select(l => new PayAsYouGoLineResponse(
            l.Kind == PayAsYouGoLineKind.LateUsage ? "late-usage" : "usage",
            BillingMonths.Format(l.Month),
            l.Model,
            l.InputTokens,
            l.OutputTokens,
            Plain(l.ListRate.InputUsdPer1M),
            Plain(l.ListRate.OutputUsdPer1M),
            Money.Format(l.AmountCents))).ToArray(),
        Money.Format(invoice.TotalCents));

    // A price read back from storage may carry trailing zeros (3.0): the same price is printed the same way.
    private static decimal Plain(decimal price) => price / 1.0000000000000000000000000000m;
}

/// <summary>The pay-as-you-go endpoints' shared checks and answers (operator and customer alike).</summary>
public static class PayAsYouGoEndpoints
{
    public const string MonthHint = "A month as yyyy-MM, e.g. 2026-11, from 2020-01.";

    /// <summary>The optional <c>month</c> query parameter: null when absent, or the 400 when it is not a month.</summary>
    public static bool TryMonth(string? text, out DateOnly? month, Dictionary<string, string[]> errors)
    {
        month = null;
        if (text is null)
        {
            return true;
        }

        if (!BillingMonths.TryParse(text, out var parsed))
        {
            errors["month"] = [MonthHint];
            return false;
        }

        month = parsed;
        return true;
    }

    public static async Task<Results<Ok<PayAsYouGoInvoiceResponse[]>, ValidationProblem>> ListInvoicesAsync(string customerId, IGrainFactory grains)
    {
        var invoices = await Grain(grains, customerId).GetInvoicesAsync();
        return TypedResults.Ok(invoices.Select(PayAsYouGoInvoiceResponse.From).ToArray());
    }

    public static async Task<Results<Ok<PayAsYouGoInvoiceResponse>, NoContent, ValidationProblem>> PreviewAsync(
        string customerId, string? month, IGrainFactory grains)
    {
        var errors = new Dictionary<string, string[]>();
        if (!TryMonth(month, out var asked, errors))
        {
            return TypedResults.ValidationProblem(errors, title: "The month is not valid.");
        }

        var outcome = await Grain(grains, customerId).PreviewAsync(asked);
        return outcome.Invoice is null ? TypedResults.NoContent() : TypedResults.Ok(PayAsYouGoInvoiceResponse.From(outcome.Invoice));
    }

    public static IPayAsYouGoGrain Grain(IGrainFactory grains, string customerId) =>
        grains.GetGrain<IPayAsYouGoGrain>(Contracts.GrainKeys.PayAsYouGo(customerId));

    public static Dictionary<string, string[]> CustomerIdErrors(string customerId) =>
        Ids.IsValid(customerId) ? [] : new() { ["customerId"] = ["Not a valid customer id."] };
}
