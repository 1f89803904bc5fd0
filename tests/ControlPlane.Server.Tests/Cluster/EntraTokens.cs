using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Core;
using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Cluster;

/// <summary>
/// Access tokens shaped like Entra ID's for Azure Storage, unsigned: Azurite's <c>--oauth basic</c> checks their issuer,
/// audience and lifetime, not a signature, so these stand in for a real identity's tokens against it.
/// </summary>
public static class EntraTokens
{
    public const string StorageAudience = "https://storage.azure.com";

    public static AccessToken ForStorage(string audience = StorageAudience)
    {
        var now = DateTimeOffset.UtcNow;
        var expires = now.AddHours(1);
        var claims = new Dictionary<string, object>
        {
            ["aud"] = audience,
            ["iss"] = "https://sts.windows.net/00000000-0000-0000-0000-000000000001/",
            ["iat"] = now.AddMinutes(-1).ToUnixTimeSeconds(),
            ["nbf"] = now.AddMinutes(-1).ToUnixTimeSeconds(),
            ["exp"] = expires.ToUnixTimeSeconds(),
            ["oid"] = "00000000-0000-0000-0000-000000000002",
        };
        var token = $"{Base64Url("{\"alg\":\"RS256\",\"typ\":\"JWT\"}")}.{Base64Url(JsonSerializer.Serialize(claims))}.{Base64Url("unsigned")}";
        return new AccessToken(token, expires);
    }

    private static string Base64Url(string text) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>A credential that hands out one token, counting the scopes it was asked for.</summary>
public sealed class FixedTokenCredential(AccessToken token) : TokenCredential
{
    public ConcurrentQueue<string> Scopes { get; } = new();

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        foreach (var scope in requestContext.Scopes)
        {
            Scopes.Enqueue(scope);
        }

        return token;
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));
}

/// <summary>
/// A managed identity token endpoint on loopback, as App Service and Azure Functions give one to their processes
/// (<c>IDENTITY_ENDPOINT</c> and <c>IDENTITY_HEADER</c>): a child process's ManagedIdentityCredential gets its tokens here.
/// </summary>
public sealed class ManagedIdentityEndpoint : IAsyncDisposable
{
    public const string Secret = "controlplane-test-identity-header";

    private readonly LoopbackHttpServer _server;
    private int _tokensIssued;

    private ManagedIdentityEndpoint()
    {
        _server = LoopbackHttpServer.Start(IssueAsync);
    }

    public string Url => _server.BaseAddress + "/msi/token";

    public int TokensIssued => Volatile.Read(ref _tokensIssued);

    /// <summary>The environment a process needs to use this endpoint as its managed identity.</summary>
    public Dictionary<string, string> Environment => new() { ["IDENTITY_ENDPOINT"] = Url, ["IDENTITY_HEADER"] = Secret };

    public static ManagedIdentityEndpoint Start() => new();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task IssueAsync(HttpListenerContext context)
    {
        var response = context.Response;
        if (context.Request.Headers["X-IDENTITY-HEADER"] != Secret)
        {
            response.StatusCode = 401;
            return;
        }

        var token = EntraTokens.ForStorage();
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["access_token"] = token.Token,
            ["expires_on"] = token.ExpiresOn.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            ["resource"] = context.Request.QueryString["resource"] ?? EntraTokens.StorageAudience,
            ["token_type"] = "Bearer",
        });
        Interlocked.Increment(ref _tokensIssued);
        response.StatusCode = 200;
        response.ContentType = "application/json";
        await response.OutputStream.WriteAsync(body);
    }
}
