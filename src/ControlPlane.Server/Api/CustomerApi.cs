using System.Security.Claims;
using ControlPlane.Domain;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Commits;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Commits;
using ControlPlane.Server.Api.Commits;
using ControlPlane.Server.Auth;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ControlPlane.Server.Api;

/// <summary>What a customer calls with its own token: its contracts and invoices; anyone else's is not found.</summary>
public static class CustomerApi
{
    public static IEndpointRouteBuilder MapCustomerApi(this IEndpointRouteBuilder app)
    {
        var customer = app.MapGroup("/v1")
            .RequireAuthorization(Policies.Customer)
            .WithTags("Customer");

        customer.MapGet("/contracts", ListContractsAsync)
            .WithName("ListMyContracts")
            .WithSummary("The caller's contracts with their quarter books.");
        customer.MapGet("/contracts/{contractId}", GetContractAsync)
            .WithName("GetMyContract")
            .WithSummary("One of the caller's contracts: balance, usage, rollover, overage.");
        customer.MapGet("/contracts/{contractId}/invoices", ListInvoicesAsync)
            .WithName("ListMyInvoices")
            .WithSummary("The invoices of one of the caller's contracts.");
        customer.MapGet("/contracts/{contractId}/slas", ListSlasAsync)
            .WithName("ListMySlas")
            .WithSummary("The SLO periods of one of the caller's contracts: attainment and credits.");
        customer.MapGet("/contracts/{contractId}/forecast", GetForecastAsync)
            .WithName("GetMyForecast")
            .WithSummary("The current quarter's balance, when it runs out at the burn so far this quarter, and the true-up that would cover the term.");
        customer.MapGet("/contracts/{contractId}/usage/daily", GetDailyUsageAsync)
            .WithName("GetMyDailyUsage")
            .WithSummary("Usage by UTC day and model in one quarter (default: the current one, else the last).");
        customer.MapGet("/pay-as-you-go/invoices", (ClaimsPrincipal user, IGrainFactory grains) => PayAsYouGoEndpoints.ListInvoicesAsync(user.Subject()!, grains))
            .WithName("ListMyPayAsYouGoInvoices")
            .WithSummary("The caller's pay-as-you-go invoices (usage no contract covers, by month at list price), oldest first.");
        customer.MapGet("/pay-as-you-go/invoices/preview", (string? month, ClaimsPrincipal user, IGrainFactory grains) => PayAsYouGoEndpoints.PreviewAsync(user.Subject()!, month, grains))
            .WithName("PreviewMyPayAsYouGoInvoice")
            .WithSummary("The invoice closing a pay-as-you-go month (?month=yyyy-MM; default the oldest open one) would issue now.");
        return app;
    }

    private static async Task<Ok<ContractResponse[]>> ListContractsAsync(ClaimsPrincipal user, IGrainFactory grains)
    {
        var terms = await grains.GetGrain<ICustomerGrain>(GrainKeys.Customer(user.Subject()!)).GetContractsAsync();
        var views = await Task.WhenAll(terms.Select(t => grains.GetGrain<IContractGrain>(GrainKeys.Contract(t.ContractId)).GetAsync()));
        return TypedResults.Ok(views.OfType<ContractView>().Select(ContractResponse.From).ToArray());
    }

    private static async Task<Results<Ok<ContractResponse>, ProblemHttpResult>> GetContractAsync(string contractId, ClaimsPrincipal user, IGrainFactory grains)
    {
        // Ownership first: the view reads every usage day of the term, which is not another customer's to cause.
        if (await RefuseAsync(contractId, user, grains) is { } refused)
        {
            return refused;
        }

        var view = await grains.GetGrain<IContractGrain>(GrainKeys.Contract(contractId)).GetAsync();
        return view is null ? NotFound(contractId) : TypedResults.Ok(ContractResponse.From(view));
    }

    private static async Task<Results<Ok<InvoiceResponse[]>, ProblemHttpResult>> ListInvoicesAsync(string contractId, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (await RefuseAsync(contractId, user, grains) is { } refused)
        {
            return refused;
        }

        var invoices = await grains.GetGrain<IContractGrain>(GrainKeys.Contract(contractId)).GetInvoicesAsync();
        return invoices is null ? NotFound(contractId) : TypedResults.Ok(invoices.Select(InvoiceResponse.From).ToArray());
    }

    private static async Task<Results<Ok<SlaPeriodResponse[]>, ProblemHttpResult>> ListSlasAsync(string contractId, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (await RefuseAsync(contractId, user, grains) is { } refused)
        {
            return refused;
        }

        var periods = await grains.GetGrain<IContractGrain>(GrainKeys.Contract(contractId)).GetSlasAsync();
        return periods is null ? NotFound(contractId) : TypedResults.Ok(periods.Select(SlaPeriodResponse.From).ToArray());
    }

    private static async Task<Results<Ok<ContractForecastResponse>, ProblemHttpResult>> GetForecastAsync(
        string contractId, ClaimsPrincipal user, IGrainFactory grains, TimeProvider time)
    {
        if (await RefuseAsync(contractId, user, grains) is { } refused)
        {
            return refused;
        }

        var view = await grains.GetGrain<IContractGrain>(GrainKeys.Contract(contractId)).GetAsync();
        if (view is null)
        {
            return NotFound(contractId);
        }

        var now = time.GetUtcNow();
        var forecast = CommitForecasting.Project(view.Quarters, now);
        if (forecast is null)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The contract's term is not running.",
                detail: $"Contract '{contractId}' runs from {view.Quarters[0].Start:yyyy-MM-dd} to {view.Quarters[^1].End:yyyy-MM-dd}: there is no current quarter to forecast.");
        }

        return TypedResults.Ok(ContractForecastResponse.From(contractId, now, view.Quarters[forecast.Quarter - 1], forecast));
    }

    private static async Task<Results<Ok<QuarterUsageResponse>, ValidationProblem, ProblemHttpResult>> GetDailyUsageAsync(
        string contractId, int? quarter, ClaimsPrincipal user, IGrainFactory grains, TimeProvider time)
    {
        if (await RefuseAsync(contractId, user, grains) is { } refused)
        {
            return refused;
        }

        var view = await grains.GetGrain<IContractGrain>(GrainKeys.Contract(contractId)).GetAsync();
        if (view is null)
        {
            return NotFound(contractId);
        }

        var terms = view.Terms;
        var calendar = terms.Calendar();
        var now = time.GetUtcNow();
        var k = quarter ?? view.Quarters.FirstOrDefault(q => q.Start <= now && now < q.End)?.Quarter ?? (now < calendar.TermStart ? 1 : terms.Quarters);
        if (k < 1 || k > terms.Quarters)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["quarter"] = [$"Between 1 and {terms.Quarters}."] });
        }

        // Days after tomorrow hold nothing yet: an event may be at most minutes ahead of the clock.
        var until = DateOnly.FromDateTime(now.UtcDateTime).AddDays(2);
        var days = new List<DateOnly>();
        for (var day = calendar.StartDay(k); day < calendar.EndDay(k) && day < until; day = day.AddDays(1))
        {
            days.Add(day);
        }

        var ledger = GrainKeys.ContractLedger(contractId);
        var totals = await Task.WhenAll(days.Select(async d =>
        {
            var t = await grains.GetGrain<IUsageBucketGrain>(GrainKeys.UsageBucket(terms.CustomerId, d)).GetAsync(ledger);
            return (d, (IReadOnlyList<Domain.Metering.UsageAggregate>)[.. t.Counted, .. t.PendingLate]);
        }));
        return TypedResults.Ok(QuarterUsageResponse.From(contractId, k, terms.DiscountPercent, totals.Where(t => t.Item2.Count > 0)));
    }

    /// <summary>
    /// Why the caller may not read the contract (404), or null when it may. Decided from the customer's own list of
    /// contracts alone: an id not in it is answered without activating a contract grain, whether it belongs to another
    /// customer or to nobody (a made-up id costs no memory, and whether an id exists is not another customer's to learn).
    /// </summary>
    private static async Task<ProblemHttpResult?> RefuseAsync(string contractId, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Ids.IsValid(contractId))
        {
            return NotFound(contractId);
        }

        var mine = await grains.GetGrain<ICustomerGrain>(GrainKeys.Customer(user.Subject()!)).GetContractsAsync();
        return mine.Any(t => t.ContractId == contractId) ? null : NotFound(contractId);
    }

    private static ProblemHttpResult NotFound(string contractId) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such contract.", detail: $"No contract '{contractId}' exists.");

}
