using ControlPlane.Domain;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Commits;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Domain.Deployments;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;
using ControlPlane.Server.Api.Commits;
using ControlPlane.Server.Api.Metering;
using ControlPlane.Server.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace ControlPlane.Server.Api;

public static partial class AdminApi
{
    private static void MapCommits(RouteGroupBuilder admin)
    {
        admin.MapPut("/prices/{**model}", SetPriceAsync)
            .WithName("SetPrice")
            .WithSummary("Set a model's list price per million tokens; it applies to usage from now on.");
        admin.MapGet("/prices", ListPricesAsync)
            .WithName("ListPrices")
            .WithSummary("The current list price of every model.");
        admin.MapPost("/contracts", CreateContractAsync)
            .WithName("CreateContract")
            .WithSummary("Create a dollar commit; issues the opening invoice (Q1's commit).");
        admin.MapGet("/contracts/{contractId}", GetContractAsync)
            .WithName("GetContract")
            .WithSummary("Terms and the quarter book with usage so far.");
        admin.MapPost("/contracts/{contractId}/true-ups", AddTrueUpAsync)
            .WithName("AddTrueUp")
            .WithSummary("Raise the commit from a quarter on; invoices the difference at once if that quarter's commit was invoiced.");
        admin.MapPost("/contracts/{contractId}/quarters/{quarter:int}/close", CloseQuarterAsync)
            .WithName("CloseQuarter")
            .WithSummary("Close a quarter (in order, once it ended) and issue its invoice; idempotent.");
        admin.MapGet("/contracts/{contractId}/invoices", ListInvoicesAsync)
            .WithName("ListInvoices")
            .WithSummary("The contract's invoices, oldest first.");
        admin.MapGet("/contracts/{contractId}/invoices/preview", PreviewInvoiceAsync)
            .WithName("PreviewInvoice")
            .WithSummary("The invoice closing the current quarter would issue now.");
        admin.MapPost("/contracts/{contractId}/invoices/late-usage", BillLateUsageAsync)
            .WithName("BillLateUsage")
            .WithSummary("After the last quarter closed: invoice late usage that arrived since (automatic when quarters auto-close).");
        admin.MapPut("/contracts/{contractId}/slos/{deploymentId}", SetSloAsync)
            .WithName("SetSlo")
            .WithSummary("Set the SLO of one of the contract's dedicated deployments: availability target and credit schedule.");
        admin.MapGet("/contracts/{contractId}/slas", ListSlasAsync)
            .WithName("ListSlas")
            .WithSummary("Every SLO period started so far: minutes met, missed and unmeasured, attainment and credit.");
        admin.MapGet("/customers/{customerId}/contracts", ListCustomerContractsAsync)
            .WithName("ListCustomerContracts")
            .WithSummary("A customer's contracts with their quarter books, in term order.");
        admin.MapGet("/customers/{customerId}/usage", GetPayAsYouGoUsageAsync)
            .WithName("GetPayAsYouGoUsage")
            .WithSummary("A customer's usage outside any contract, billed at list price, for one month.");
    }

    private static async Task<Results<Ok<PriceResponse>, ValidationProblem>> SetPriceAsync(
        string model, SetPriceRequest request, IGrainFactory grains, TimeProvider time)
    {
        var errors = new Dictionary<string, string[]>();
        if (!MeteringValidation.IsValidModel(model))
        {
            errors["model"] = ["A model name: letters, digits and . _ - : /, at most 128 characters."];
        }

        if (request.InputUsdPer1M is null || request.OutputUsdPer1M is null)
        {
            errors["price"] = ["Both inputUsdPer1M and outputUsdPer1M are required."];
        }
        else
        {
            foreach (var (key, value) in new Rate(request.InputUsdPer1M.Value, request.OutputUsdPer1M.Value).Validate())
            {
                errors[key] = value;
            }
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The price is not valid.");
        }

        var price = await grains.GetGrain<IPriceListGrain>(GrainKeys.PriceList)
            .SetPriceAsync(model, new Rate(request.InputUsdPer1M!.Value, request.OutputUsdPer1M!.Value), time.GetUtcNow());
        return TypedResults.Ok(PriceResponse.From(price));
    }

    private static async Task<Ok<PriceResponse[]>> ListPricesAsync(IGrainFactory grains)
    {
        var prices = await grains.GetGrain<IPriceListGrain>(GrainKeys.PriceList).GetAsync();
        return TypedResults.Ok(prices.Current().Select(PriceResponse.From).ToArray());
    }

    private static async Task<Results<Created<ContractResponse>, ValidationProblem, ProblemHttpResult>> CreateContractAsync(
        CreateContractRequest request, IGrainFactory grains)
    {
        var (terms, errors) = CommitsValidation.ToTerms(request);
        if (terms is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The contract is not valid.");
        }

        var outcome = await grains.GetGrain<IContractGrain>(GrainKeys.Contract(terms.ContractId)).CreateAsync(terms);
        if (outcome.Error is { } error)
        {
            return Problem(error, "The contract could not be created.");
        }

        return TypedResults.Created($"/admin/v1/contracts/{terms.ContractId}", ContractResponse.From(outcome.Contract!));
    }

    private static async Task<Results<Ok<ContractResponse>, ProblemHttpResult>> GetContractAsync(string contractId, IGrainFactory grains)
    {
        var view = Ids.IsValid(contractId) ? await grains.GetGrain<IContractGrain>(GrainKeys.Contract(contractId)).GetAsync() : null;
        return view is null ? ContractNotFound(contractId) : TypedResults.Ok(ContractResponse.From(view));
    }

    private static async Task<Results<Ok<ContractResponse[]>, ValidationProblem>> ListCustomerContractsAsync(string customerId, IGrainFactory grains)
    {
        if (!Ids.IsValid(customerId))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["customerId"] = ["Not a valid customer id."] });
        }

        var terms = await grains.GetGrain<ICustomerGrain>(GrainKeys.Customer(customerId)).GetContractsAsync();
        var views = await Task.WhenAll(terms.Select(t => grains.GetGrain<IContractGrain>(GrainKeys.Contract(t.ContractId)).GetAsync()));
        return TypedResults.Ok(views.OfType<ContractView>().Select(ContractResponse.From).ToArray());
    }

    private static async Task<Results<Ok<TrueUpResponse>, ValidationProblem, ProblemHttpResult>> AddTrueUpAsync(
        string contractId, TrueUpRequest request, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey, IGrainFactory grains)
    {
        if (!Ids.IsValid(contractId))
        {
            return ContractNotFound(contractId);
        }

        var errors = new Dictionary<string, string[]>();
        long cents = 0;
        if (request.AdditionalQuarterlyCommitUsd is not { } usd || !Money.TryParseUsd(usd, out cents) || cents == 0)
        {
            errors["additionalQuarterlyCommitUsd"] = ["Required: dollars a quarter, more than 0, at most 2 decimals."];
        }

        if (request.EffectiveQuarter is null)
        {
            errors["effectiveQuarter"] = ["Required: the first quarter the raise applies to."];
        }

        if (idempotencyKey is { Length: 0 or > 128 })
        {
            errors["Idempotency-Key"] = ["At most 128 characters."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The true-up is not valid.");
        }

        var outcome = await grains.GetGrain<IContractGrain>(GrainKeys.Contract(contractId))
            .AddTrueUpAsync(new TrueUp(cents, request.EffectiveQuarter!.Value, idempotencyKey));
        if (outcome.Error is { } error)
        {
            return Problem(error, "The true-up was refused.");
        }

        return TypedResults.Ok(new TrueUpResponse(outcome.Invoice is null ? null : InvoiceResponse.From(outcome.Invoice), ContractResponse.From(outcome.Contract!)));
    }

    private static async Task<Results<Ok<InvoiceResponse>, ValidationProblem, ProblemHttpResult>> CloseQuarterAsync(
        string contractId, int quarter, IGrainFactory grains)
    {
        if (!Ids.IsValid(contractId))
        {
            return ContractNotFound(contractId);
        }

        var outcome = await grains.GetGrain<IContractGrain>(GrainKeys.Contract(contractId)).CloseQuarterAsync(quarter);
        if (outcome.Error is { } error)
        {
            return Problem(error, $"Quarter {quarter} was not closed.");
        }

        return TypedResults.Ok(InvoiceResponse.From(outcome.Invoice!));
    }

    private static async Task<Results<Ok<InvoiceResponse[]>, ProblemHttpResult>> ListInvoicesAsync(string contractId, IGrainFactory grains)
    {
        var invoices = Ids.IsValid(contractId) ? await grains.GetGrain<IContractGrain>(GrainKeys.Contract(contractId)).GetInvoicesAsync() : null;
        return invoices is null ? ContractNotFound(contractId) : TypedResults.Ok(invoices.Select(InvoiceResponse.From).ToArray());
    }

    private static async Task<Results<Ok<InvoiceResponse>, NoContent, ProblemHttpResult>> PreviewInvoiceAsync(string contractId, IGrainFactory grains)
    {
        if (!Ids.IsValid(contractId))
        {
            return ContractNotFound(contractId);
        }

        var outcome = await grains.GetGrain<IContractGrain>(GrainKeys.Contract(contractId)).PreviewAsync();
        if (outcome.Error is { } error)
        {
            return Problem(error, "No preview.");
        }

        return outcome.Invoice is null ? TypedResults.NoContent() : TypedResults.Ok(InvoiceResponse.From(outcome.Invoice));
    }

    private static async Task<Results<Ok<InvoiceResponse>, NoContent, ProblemHttpResult>> BillLateUsageAsync(string contractId, IGrainFactory grains)
    {
        if (!Ids.IsValid(contractId))
        {
            return ContractNotFound(contractId);
        }

        var outcome = await grains.GetGrain<IContractGrain>(GrainKeys.Contract(contractId)).BillLateUsageAsync();
        if (outcome.Error is { } error)
        {
            return Problem(error, "No late-usage invoice was issued.");
        }

        return outcome.Invoice is null ? TypedResults.NoContent() : TypedResults.Ok(InvoiceResponse.From(outcome.Invoice));
    }

    private static async Task<Results<Ok<SloResponse>, ValidationProblem, ProblemHttpResult>> SetSloAsync(
        string contractId, string deploymentId, SetSloRequest request, IGrainFactory grains, TimeProvider time)
    {
        if (!Ids.IsValid(contractId))
        {
            return ContractNotFound(contractId);
        }

        var (terms, errors) = SlaMessages.ToTerms(deploymentId, request, time.GetUtcNow());
        if (terms is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The SLO is not valid.");
        }

        var contract = grains.GetGrain<IContractGrain>(GrainKeys.Contract(contractId));
        var view = await contract.GetAsync();
        if (view is null)
        {
            return ContractNotFound(contractId);
        }

        // Only a dedicated deployment of the contract's own customer has an SLO to measure.
        var deployment = await grains.GetGrain<IDeploymentGrain>(GrainKeys.Deployment(deploymentId)).GetAsync();
        if (deployment is null || deployment.Spec.Class != DeploymentClass.Dedicated || deployment.Spec.CustomerId != view.Terms.CustomerId)
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["deploymentId"] = [$"must name an existing dedicated deployment of customer {view.Terms.CustomerId}"] },
                title: "The SLO is not valid.");
        }

        var outcome = await contract.SetSloAsync(terms);
        return outcome.Error is { } error ? Problem(error, "The SLO was refused.") : TypedResults.Ok(SloResponse.From(contractId, outcome.Terms!));
    }

    private static async Task<Results<Ok<SlaPeriodResponse[]>, ProblemHttpResult>> ListSlasAsync(string contractId, IGrainFactory grains)
    {
        var periods = Ids.IsValid(contractId) ? await grains.GetGrain<IContractGrain>(GrainKeys.Contract(contractId)).GetSlasAsync() : null;
        return periods is null ? ContractNotFound(contractId) : TypedResults.Ok(periods.Select(SlaPeriodResponse.From).ToArray());
    }

    private static async Task<Results<Ok<PayAsYouGoUsageResponse>, ValidationProblem>> GetPayAsYouGoUsageAsync(
        string customerId, string? month, IGrainFactory grains, TimeProvider time)
    {
        var errors = new Dictionary<string, string[]>();
        if (!Ids.IsValid(customerId))
        {
            errors["customerId"] = ["Not a valid customer id."];
        }

        var first = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        first = new DateOnly(first.Year, first.Month, 1);
        if (month is not null && !DateOnly.TryParseExact(month + "-01", "yyyy-MM-dd", out first))
        {
            errors["month"] = ["A month as yyyy-MM, e.g. 2026-11."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var ledger = GrainKeys.PayAsYouGoLedger(customerId);
        var days = Enumerable.Range(0, DateTime.DaysInMonth(first.Year, first.Month)).Select(first.AddDays);
        var totals = await Task.WhenAll(days.Select(d => grains.GetGrain<IUsageBucketGrain>(GrainKeys.UsageBucket(customerId, d)).GetAsync(ledger)));
        // Late usage too, billed or not: this is what happened in the month, whichever invoice bills it.
        var usage = UsageAggregate.Merge(totals.SelectMany(t => t.Counted.Concat(t.PendingLate).Concat(t.BilledLate ?? [])));
        return TypedResults.Ok(PayAsYouGoUsageResponse.From(customerId, first, usage));
    }

    private static ProblemHttpResult ContractNotFound(string contractId) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such contract.", detail: $"No contract '{contractId}' exists.");

    private static ProblemHttpResult Problem(LedgerError error, string title)
    {
        var status = error.Kind switch
        {
            LedgerErrorKind.NotFound => StatusCodes.Status404NotFound,
            LedgerErrorKind.Conflict => StatusCodes.Status409Conflict,
            _ => StatusCodes.Status400BadRequest,
        };
        return TypedResults.Problem(
            statusCode: status,
            title: title,
            detail: error.Message,
            extensions: new Dictionary<string, object?> { ["errors"] = error.Errors });
    }
}
