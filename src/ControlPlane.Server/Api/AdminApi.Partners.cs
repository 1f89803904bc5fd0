using ControlPlane.Domain;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Partners;
using ControlPlane.Domain.Deployments;
using ControlPlane.Server.Api.Partners;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ControlPlane.Server.Api;

/// <summary>Distribution partners: routes with models, a price and a capacity, for serverless demand no replica takes.</summary>
public static partial class AdminApi
{
    private static void MapPartners(RouteGroupBuilder admin)
    {
        admin.MapPut("/partners/{partnerId}", PutPartnerAsync)
            .WithName("PutPartner")
            .WithSummary("Add or replace a partner: the models it serves, its price per million tokens and its capacity; idempotent.");
        admin.MapGet("/partners", ListPartnersAsync)
            .WithName("ListPartners")
            .WithSummary("Every partner, by id.");
        admin.MapGet("/partners/{partnerId}", GetPartnerAsync)
            .WithName("GetPartner")
            .WithSummary("One partner.");
        admin.MapDelete("/partners/{partnerId}", DeletePartnerAsync)
            .WithName("DeletePartner")
            .WithSummary("Forget a partner; no traffic is routed to it from then on.");
    }

    private static async Task<Results<Created<PartnerResponse>, Ok<PartnerResponse>, ValidationProblem>> PutPartnerAsync(
        string partnerId, PutPartnerRequest? request, IGrainFactory grains, PartnerCache cache)
    {
        var (partner, errors) = PartnerMapping.ToPartner(partnerId, request);
        if (partner is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The partner is not valid; nothing changed.");
        }

        var result = await grains.GetGrain<IPartnerDirectoryGrain>(GrainKeys.PartnerDirectory).PutAsync(partner);
        cache.Invalidate();
        var response = PartnerResponse.From(result.Partner);
        return result.Status == PartnerPutStatus.Created
            ? TypedResults.Created($"/admin/v1/partners/{partnerId}", response)
            : TypedResults.Ok(response);
    }

    private static async Task<Ok<PartnerResponse[]>> ListPartnersAsync(IGrainFactory grains)
    {
        var list = await grains.GetGrain<IPartnerDirectoryGrain>(GrainKeys.PartnerDirectory).ListAsync();
        return TypedResults.Ok(list.Partners.Select(PartnerResponse.From).ToArray());
    }

    private static async Task<Results<Ok<PartnerResponse>, ProblemHttpResult>> GetPartnerAsync(string partnerId, IGrainFactory grains)
    {
        var partner = Ids.IsValid(partnerId)
            ? await grains.GetGrain<IPartnerDirectoryGrain>(GrainKeys.PartnerDirectory).GetAsync(partnerId)
            : null;
        return partner is null ? PartnerNotFound(partnerId) : TypedResults.Ok(PartnerResponse.From(partner));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeletePartnerAsync(string partnerId, IGrainFactory grains, PartnerCache cache)
    {
        var deleted = Ids.IsValid(partnerId)
            && await grains.GetGrain<IPartnerDirectoryGrain>(GrainKeys.PartnerDirectory).DeleteAsync(partnerId);
        cache.Invalidate();
        return deleted ? TypedResults.NoContent() : PartnerNotFound(partnerId);
    }

    private static ProblemHttpResult PartnerNotFound(string partnerId) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "No such partner.",
            detail: $"No partner '{partnerId}' exists.");
}
