using ControlPlane.Contracts.Metering;
using ControlPlane.Server.Api.Metering;
using ControlPlane.Server.Auth;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ControlPlane.Server.Api;

/// <summary>What the inference gateway calls: usage batches (later: demand and routing).</summary>
public static class GatewayApi
{
    public static IEndpointRouteBuilder MapGatewayApi(this IEndpointRouteBuilder app)
    {
        var gateway = app.MapGroup("/gateway/v1")
            .RequireAuthorization(Policies.Gateway)
            .WithTags("Gateway");

        gateway.MapPost("/usage", RecordUsageAsync)
            .WithName("RecordUsage")
            .WithSummary("Meter a batch of requests; answered once the batch is durable. Resending is safe: each event counts once.");
        return app;
    }

    private static async Task<Results<Ok<UsageBatchResponse>, ValidationProblem>> RecordUsageAsync(
        UsageBatchRequest request, IGrainFactory grains, TimeProvider time)
    {
        var errors = MeteringValidation.Validate(request, time.GetUtcNow());
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The usage batch is not valid; nothing of it was counted.");
        }

        // Any worker will do: stateless workers run on the silo that calls them.
        var result = await grains.GetGrain<IUsageIngestGrain>(0).IngestAsync(MeteringValidation.ToBatch(request));
        if (result.Errors is { Count: > 0 })
        {
            return TypedResults.ValidationProblem(result.Errors, title: "The usage batch is not valid; nothing of it was counted.");
        }

        return TypedResults.Ok(new UsageBatchResponse(result.Accepted, result.Duplicates));
    }
}
