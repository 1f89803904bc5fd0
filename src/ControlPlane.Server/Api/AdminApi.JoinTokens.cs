using System.Security.Claims;
using System.Security.Cryptography;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Auth;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Server.Api.Auth;
using ControlPlane.Server.Api.Fleet;
using ControlPlane.Server.Auth;
using ControlPlane.Server.Options;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Api;

public static partial class AdminApi
{
    private static void MapNodeIdentity(RouteGroupBuilder admin)
    {
        admin.MapPost("/join-tokens", IssueJoinTokenAsync)
            .WithName("IssueJoinToken")
            .WithSummary("Issue a join token: it enrols nodes on the given terms (single use by default, or maxUses), expires, and can be revoked; it does nothing else.");
        admin.MapGet("/join-tokens", ListJoinTokensAsync)
            .WithName("ListJoinTokens")
            .WithSummary("Join tokens not yet forgotten: their terms, uses and the nodes they enrolled (never the token).");
        admin.MapDelete("/join-tokens/{tokenId}", RevokeJoinTokenAsync)
            .WithName("RevokeJoinToken")
            .WithSummary("Revoke a join token: no enrolment with it from now on (nodes it enrolled keep their own tokens).");
        admin.MapPost("/nodes/{nodeId}/token", RotateNodeTokenAsync)
            .WithName("RotateNodeToken")
            .WithSummary("Issue a node a new token; its previous token is refused at once, on every silo.");
        admin.MapDelete("/nodes/{nodeId}/token", RevokeNodeTokenAsync)
            .WithName("RevokeNodeToken")
            .WithSummary("Take a node's token away: nothing heartbeats for it until an operator rotates it or its agent enrols with a join token of its region.");
    }

    private static async Task<Results<Created<JoinTokenResponse>, ValidationProblem>> IssueJoinTokenAsync(
        IssueJoinTokenRequest request, ClaimsPrincipal user, TokenService tokens, IGrainFactory grains, IOptions<AuthOptions> auth, TimeProvider time)
    {
        var errors = JoinTokenValidation.Validate(request);
        var now = DateTimeOffset.FromUnixTimeSeconds(time.GetUtcNow().ToUnixTimeSeconds());
        var max = auth.Value.MaxTokenLifetimeDays * 86_400L;
        if (request.ExpiresInSeconds is { } asked && (asked < TokenValidation.MinLifetimeSeconds || asked > max))
        {
            errors["expiresInSeconds"] = [$"Between {TokenValidation.MinLifetimeSeconds} and {max} (Auth:MaxTokenLifetimeDays)."];
        }

        var expires = now.AddSeconds(request.ExpiresInSeconds ?? Math.Min(JoinTokenValidation.DefaultLifetimeSeconds, max));
        if (user.TokenExpires() is { } limit && expires > limit)
        {
            if (request.ExpiresInSeconds is not null && !errors.ContainsKey("expiresInSeconds"))
            {
                errors["expiresInSeconds"] = [$"At most {Math.Max(0, (long)(limit - now).TotalSeconds)}: a token cannot outlive the operator token that issues it."];
            }

            expires = limit;
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The join token request is not valid.");
        }

        var tokenId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var spec = new JoinTokenSpec(
            tokenId, request.Region!, request.Provider!.Trim(), request.Ownership!.Value, request.HourlyCostUsd!.Value,
            request.NodeIdPrefix, request.MaxUses ?? 1, user.Issuer(), now, expires);

        // Terms first, then the registry: a token that works is listed (and revocable through /tokens as well).
        await grains.GetGrain<IJoinTokenGrain>(GrainKeys.JoinToken(tokenId)).CreateAsync(spec);
        await grains.GetGrain<ITokenRegistryGrain>(GrainKeys.TokenRegistry)
            .RecordAsync(new IssuedToken(tokenId, Roles.Join, spec.Region, spec.IssuedBy, now, expires));
        var token = tokens.Issue(Roles.Join, spec.Region, tokenId, now, expires);
        return TypedResults.Created($"/admin/v1/join-tokens/{tokenId}", JoinTokenResponse.From(new JoinTokenView(spec, [], null), now, token));
    }

    private static async Task<Ok<JoinTokenResponse[]>> ListJoinTokensAsync(IGrainFactory grains, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var issued = (await grains.GetGrain<ITokenRegistryGrain>(GrainKeys.TokenRegistry).ListAsync(now)).Where(t => t.Role == Roles.Join).ToArray();
        var views = await Task.WhenAll(issued.Select(t => grains.GetGrain<IJoinTokenGrain>(GrainKeys.JoinToken(t.TokenId)).GetAsync()));

        // Revoked through DELETE /admin/v1/tokens/{id} too: the registry knows it (and every silo refuses the token).
        return TypedResults.Ok(views
            .Select((v, i) => v is null ? null : JoinTokenResponse.From(v with { RevokedAt = v.RevokedAt ?? issued[i].RevokedAt }, now))
            .OfType<JoinTokenResponse>()
            .ToArray());
    }

    private static async Task<Results<Ok<JoinTokenResponse>, ProblemHttpResult>> RevokeJoinTokenAsync(
        string tokenId, ClaimsPrincipal user, IGrainFactory grains, RevokedTokenCache revoked, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var view = TokenValidation.IsTokenId(tokenId)
            ? await grains.GetGrain<IJoinTokenGrain>(GrainKeys.JoinToken(tokenId)).RevokeAsync(now)
            : null;
        if (view is null)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "No such join token.",
                detail: $"No join token '{(TokenValidation.IsTokenId(tokenId) ? tokenId : "(not a token id)")}' was issued.");
        }

        // The grain refuses it from now on; the registry makes every silo refuse it at authentication too.
        await grains.GetGrain<ITokenRegistryGrain>(GrainKeys.TokenRegistry).RevokeAsync(tokenId, user.Issuer(), now);
        revoked.Add(tokenId);
        return TypedResults.Ok(JoinTokenResponse.From(view, now));
    }

    private static async Task<Results<Ok<NodeTokenResponse>, ProblemHttpResult>> RotateNodeTokenAsync(string nodeId, IGrainFactory grains, TokenService tokens)
    {
        var result = FleetValidation.IsValidId(nodeId)
            ? await grains.GetGrain<INodeGrain>(GrainKeys.Node(nodeId)).RotateTokenAsync()
            : null;
        if (result is not { TokenId: { } tokenId, TokenIssuedAt: { } issuedAt })
        {
            return NodeNotFound(nodeId);
        }

        return TypedResults.Ok(new NodeTokenResponse(nodeId, tokens.Issue(Roles.Node, nodeId, tokenId, issuedAt), issuedAt));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeNodeTokenAsync(string nodeId, IGrainFactory grains) =>
        FleetValidation.IsValidId(nodeId) && await grains.GetGrain<INodeGrain>(GrainKeys.Node(nodeId)).RevokeTokenAsync()
            ? TypedResults.NoContent()
            : NodeNotFound(nodeId);
}
