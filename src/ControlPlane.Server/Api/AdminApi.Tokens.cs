using System.Security.Claims;
using System.Security.Cryptography;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Auth;
using ControlPlane.Domain;
using ControlPlane.Server.Api.Auth;
using ControlPlane.Server.Auth;
using ControlPlane.Server.Options;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Api;

public static partial class AdminApi
{
    private static void MapTokens(RouteGroupBuilder admin)
    {
        admin.MapPost("/tokens", IssueTokenAsync)
            .WithName("IssueToken")
            .WithSummary("Issue a gateway, customer or operator token (operator tokens: the bootstrap token only); it expires, and can be revoked.");
        admin.MapGet("/tokens", ListTokensAsync)
            .WithName("ListTokens")
            .WithSummary("Issued gateway, customer and operator tokens: who issued each, when it expires, whether it was revoked (never the token).");
        admin.MapDelete("/tokens/{tokenId}", RevokeTokenAsync)
            .WithName("RevokeToken")
            .WithSummary("Revoke an issued token: refused on this silo at once, on every silo within Auth:RevocationRefreshSeconds.");
    }

    private static async Task<Results<Created<TokenResponse>, ValidationProblem, ProblemHttpResult>> IssueTokenAsync(
        IssueTokenRequest request, ClaimsPrincipal user, TokenService tokens, IGrainFactory grains, IOptions<AuthOptions> auth, TimeProvider time)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Role is not { } role || !Roles.Issuable.Contains(role))
        {
            errors["role"] = ["One of: " + string.Join(", ", Roles.Issuable) + "."];
        }
        else if (role == Roles.Customer && !Ids.IsValid(request.Subject))
        {
            errors["subject"] = ["Required for a customer token: the customer id."];
        }
        else if (request.Subject is not null && !Ids.IsValid(request.Subject))
        {
            errors["subject"] = ["Letters, digits, '-', '_' and '.', at most 100 characters."];
        }

        // Whole seconds, as the token carries them: what the list says is what the token does.
        var now = DateTimeOffset.FromUnixTimeSeconds(time.GetUtcNow().ToUnixTimeSeconds());
        var max = auth.Value.MaxTokenLifetimeDays * 86_400L;
        if (request.ExpiresInSeconds is { } asked && (asked < TokenValidation.MinLifetimeSeconds || asked > max))
        {
            errors["expiresInSeconds"] = [$"Between {TokenValidation.MinLifetimeSeconds} and {max} (Auth:MaxTokenLifetimeDays)."];
        }

        // A token cannot outlive the token that issues it: asked for longer, it is refused; by default it is cut short.
        var issuerExpires = user.TokenExpires();
        var expires = now.AddSeconds(request.ExpiresInSeconds ?? auth.Value.DefaultTokenLifetimeDays * 86_400L);
        if (issuerExpires is { } limit && expires > limit)
        {
            if (request.ExpiresInSeconds is not null && !errors.ContainsKey("expiresInSeconds"))
            {
                errors["expiresInSeconds"] = [$"At most {Math.Max(0, (long)(limit - now).TotalSeconds)}: a token cannot outlive the operator token that issues it."];
            }

            expires = limit;
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The token request is not valid.");
        }

        // Operator tokens mint operator tokens only from the bootstrap token: a leaked issued one cannot make more of itself.
        if (request.Role == Roles.Operator && user.TokenId() is not null)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status403Forbidden,
                title: "Only the bootstrap token issues operator tokens.",
                detail: "An issued operator token may issue gateway and customer tokens, not operator tokens.");
        }

        var subject = request.Subject ?? request.Role!;
        var tokenId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var issued = new IssuedToken(tokenId, request.Role!, subject, user.Issuer(), now, expires);

        // Recorded before it is handed out: every token that works is listed and can be revoked.
        await grains.GetGrain<ITokenRegistryGrain>(GrainKeys.TokenRegistry).RecordAsync(issued);
        var token = tokens.Issue(issued.Role, subject, tokenId, now, expires);
        return TypedResults.Created($"/admin/v1/tokens/{tokenId}", new TokenResponse(token, tokenId, issued.Role, subject, issued.IssuedBy, now, expires));
    }

    private static async Task<Ok<TokenInfo[]>> ListTokensAsync(IGrainFactory grains, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var tokens = await grains.GetGrain<ITokenRegistryGrain>(GrainKeys.TokenRegistry).ListAsync(now);
        return TypedResults.Ok(tokens.Select(t => TokenInfo.From(t, now)).ToArray());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeTokenAsync(
        string tokenId, ClaimsPrincipal user, IGrainFactory grains, RevokedTokenCache revoked, TimeProvider time)
    {
        if (!TokenValidation.IsTokenId(tokenId))
        {
            return NoSuchToken(tokenId);
        }

        var outcome = await grains.GetGrain<ITokenRegistryGrain>(GrainKeys.TokenRegistry).RevokeAsync(tokenId, user.Issuer(), time.GetUtcNow());
        if (outcome.Status == TokenRevocationStatus.NotFound)
        {
            return NoSuchToken(tokenId);
        }

        revoked.Add(tokenId);
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult NoSuchToken(string tokenId) => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound,
        title: "No such token.",
        detail: $"No issued token '{(TokenValidation.IsTokenId(tokenId) ? tokenId : "(not a token id)")}' is known (node tokens: POST or DELETE /admin/v1/nodes/{{id}}/token).");
}
