using System.Security.Claims;
using ControlPlane.Domain;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Commits;
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
