using ControlPlane.Domain.Commits;
using ControlPlane.Server.Api.Commits;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ControlPlane.Server.Api;

public static partial class AdminApi
{
    private static void MapPayAsYouGo(RouteGroupBuilder admin)
    {
        admin.MapGet("/customers/{customerId}/pay-as-you-go/invoices", ListPayAsYouGoInvoicesAsync)
            .WithName("ListPayAsYouGoInvoices")
            .WithSummary("A customer's pay-as-you-go invoices (usage no contract covers, by month at list price), oldest first.");
        admin.MapGet("/customers/{customerId}/pay-as-you-go/invoices/preview", PreviewPayAsYouGoInvoiceAsync)
            .WithName("PreviewPayAsYouGoInvoice")
            .WithSummary("The invoice closing a month (?month=yyyy-MM; default the oldest open one) would issue now; a closed month's invoice.");
        admin.MapPost("/customers/{customerId}/pay-as-you-go/months/{month}/close", ClosePayAsYouGoMonthAsync)
            .WithName("ClosePayAsYouGoMonth")
            .WithSummary("Close a pay-as-you-go month that has ended (in order) and issue its invoice; idempotent (automatic after Billing:PaygGraceDays).");
    }

    private static async Task<Results<Ok<PayAsYouGoInvoiceResponse[]>, ValidationProblem>> ListPayAsYouGoInvoicesAsync(string customerId, IGrainFactory grains)
    {
        var errors = PayAsYouGoEndpoints.CustomerIdErrors(customerId);
        return errors.Count > 0
            ? TypedResults.ValidationProblem(errors, title: "The customer id is not valid.")
            : await PayAsYouGoEndpoints.ListInvoicesAsync(customerId, grains);
    }

    private static async Task<Results<Ok<PayAsYouGoInvoiceResponse>, NoContent, ValidationProblem>> PreviewPayAsYouGoInvoiceAsync(
        string customerId, string? month, IGrainFactory grains)
    {
        var errors = PayAsYouGoEndpoints.CustomerIdErrors(customerId);
        return errors.Count > 0
            ? TypedResults.ValidationProblem(errors, title: "The customer id is not valid.")
            : await PayAsYouGoEndpoints.PreviewAsync(customerId, month, grains);
    }

    private static async Task<Results<Ok<PayAsYouGoInvoiceResponse>, NoContent, ValidationProblem, ProblemHttpResult>> ClosePayAsYouGoMonthAsync(
        string customerId, string month, IGrainFactory grains)
    {
        var errors = PayAsYouGoEndpoints.CustomerIdErrors(customerId);
        if (!BillingMonths.TryParse(month, out var parsed))
        {
            errors["month"] = [PayAsYouGoEndpoints.MonthHint];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The month was not closed.");
        }

        var outcome = await PayAsYouGoEndpoints.Grain(grains, customerId).CloseMonthAsync(parsed);
        if (outcome.Error is { } error)
        {
            return Problem(error, $"{month} was not closed.");
        }

        return outcome.Invoice is null ? TypedResults.NoContent() : TypedResults.Ok(PayAsYouGoInvoiceResponse.From(outcome.Invoice));
    }
}
