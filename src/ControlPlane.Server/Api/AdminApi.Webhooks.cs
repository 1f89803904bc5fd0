using ControlPlane.Contracts;
using ControlPlane.Contracts.Webhooks;
using ControlPlane.Domain;
using ControlPlane.Domain.Webhooks;
using ControlPlane.Grains.Webhooks;
using ControlPlane.Server.Api.Webhooks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Api;

/// <summary>Customers' webhooks: where commit alerts and invoices are posted, and how their deliveries stand.</summary>
public static partial class AdminApi
{
    private static void MapWebhooks(RouteGroupBuilder admin)
    {
        admin.MapPut("/customers/{customerId}/webhooks", PutWebhooksAsync)
            .WithName("PutWebhooks")
            .WithSummary("Replace a customer's webhooks (URL, event kinds, secret); a generated secret is shown once. Idempotent.");
        admin.MapGet("/customers/{customerId}/webhooks", ListWebhooksAsync)
            .WithName("ListWebhooks")
            .WithSummary("A customer's webhooks (never their secrets) with counts of their deliveries by state.");
        admin.MapDelete("/customers/{customerId}/webhooks/{webhookId}", DeleteWebhookAsync)
            .WithName("DeleteWebhook")
            .WithSummary("Forget one webhook and its deliveries.");
        admin.MapPost("/customers/{customerId}/webhooks/{webhookId}/secret", RotateWebhookSecretAsync)
            .WithName("RotateWebhookSecret")
            .WithSummary("Give a webhook a new generated secret, shown once; the old one signs nothing more.");
        admin.MapGet("/customers/{customerId}/webhooks/deliveries", ListDeliveriesAsync)
            .WithName("ListWebhookDeliveries")
            .WithSummary("Deliveries, newest first: pending, failing (attempts, next attempt, last error), delivered, given up.");
    }

    private static async Task<Results<Ok<WebhooksResponse>, ValidationProblem>> PutWebhooksAsync(
        string customerId,
        PutWebhooksRequest? request,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
        IGrainFactory grains,
        IOptions<WebhookOptions> options)
    {
        var (items, errors) = WebhookMapping.ToItems(request, options.Value.AllowHttp);
        if (!Ids.IsValid(customerId))
        {
            errors["customerId"] = [$"Must be {Ids.Rule}."];
        }

        if (idempotencyKey is { Length: 0 or > 128 })
        {
            errors["Idempotency-Key"] = ["At most 128 characters."];
        }

        if (errors.Count > 0 || items is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The webhooks are not valid; nothing changed.");
        }

        var result = await Webhooks(grains, customerId).PutAsync(new WebhookPutRequest(items, idempotencyKey));
        return TypedResults.Ok(new WebhooksResponse(
            customerId,
            result.Webhooks.Select(w => WebhookResponse.From(w, result.GeneratedSecrets.GetValueOrDefault(w.WebhookId))).ToArray()));
    }

    private static async Task<Results<Ok<WebhooksResponse>, ProblemHttpResult>> ListWebhooksAsync(string customerId, IGrainFactory grains)
    {
        if (!Ids.IsValid(customerId))
        {
            return CustomerIdInvalid(customerId);
        }

        var list = await Webhooks(grains, customerId).ListAsync();
        return TypedResults.Ok(new WebhooksResponse(customerId, list.Select(w => WebhookResponse.From(w)).ToArray()));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteWebhookAsync(string customerId, string webhookId, IGrainFactory grains)
    {
        var deleted = Ids.IsValid(customerId) && Ids.IsValid(webhookId) && await Webhooks(grains, customerId).DeleteAsync(webhookId);
        return deleted ? TypedResults.NoContent() : WebhookNotFound(customerId, webhookId);
    }

    private static async Task<Results<Ok<SecretResponse>, ProblemHttpResult>> RotateWebhookSecretAsync(string customerId, string webhookId, IGrainFactory grains)
    {
        var secret = Ids.IsValid(customerId) && Ids.IsValid(webhookId) ? await Webhooks(grains, customerId).RotateSecretAsync(webhookId) : null;
        return secret is null ? WebhookNotFound(customerId, webhookId) : TypedResults.Ok(new SecretResponse(webhookId, secret));
    }

    private static async Task<Results<Ok<DeliveryResponse[]>, ProblemHttpResult>> ListDeliveriesAsync(string customerId, string? state, IGrainFactory grains)
    {
        if (!Ids.IsValid(customerId))
        {
            return CustomerIdInvalid(customerId);
        }

        var states = Enum.GetValues<WebhookDeliveryState>().Select(DeliveryResponse.StateName).ToArray();
        if (state is not null && !states.Contains(state, StringComparer.Ordinal))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "Unknown delivery state.",
                detail: $"state must be one of: {string.Join(", ", states)}.");
        }

        var deliveries = await Webhooks(grains, customerId).GetDeliveriesAsync();
        return TypedResults.Ok(deliveries
            .Select(DeliveryResponse.From)
            .Where(d => state is null || d.State == state)
            .ToArray());
    }

    private static IWebhookGrain Webhooks(IGrainFactory grains, string customerId) =>
        grains.GetGrain<IWebhookGrain>(GrainKeys.Webhooks(customerId));

    private static ProblemHttpResult CustomerIdInvalid(string customerId) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status400BadRequest,
            title: "Invalid customer id.",
            detail: $"Customer id '{customerId}' is not {Ids.Rule}.");

    private static ProblemHttpResult WebhookNotFound(string customerId, string webhookId) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "No such webhook.",
            detail: $"Customer '{customerId}' has no webhook '{webhookId}'.");
}
