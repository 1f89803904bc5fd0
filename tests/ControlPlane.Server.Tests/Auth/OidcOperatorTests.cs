using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ControlPlane.Server.Tests.Auth;

/// <summary>
/// Operators from the company's identity provider: a real OpenID Connect discovery document and key set served over
/// HTTP on loopback, JWTs signed with its RSA key, and a server that trusts it with the bootstrap token turned off.
/// </summary>
public sealed class OidcOperatorTests : IAsyncLifetime
{
    private const string Audience = "controlplane-api";
    private const string BootstrapToken = "oidc-test-bootstrap-token-0123";

    private readonly FakeIdentityProvider _idp = new();
    private ServerProcess _server = null!;

    public async ValueTask InitializeAsync()
    {
        _idp.Start();
        _server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["Auth:BootstrapToken"] = BootstrapToken,
            ["Auth:BootstrapTokenEnabled"] = "false",
            ["Auth:Oidc:Authority"] = _idp.Issuer,
            ["Auth:Oidc:Audience"] = Audience,
            ["Auth:Oidc:RequireHttpsMetadata"] = "false",
        }, waitUntilReady: false);
        await _server.WaitUntilReadyAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _idp.Dispose();
    }

    [Fact]
    public async Task OperatorFromTheProvider_UsesTheAdminApiAndIsRecordedAsIssuer()
    {
        using var alice = _server.CreateClient(_idp.Token("alice", Audience, roles: ["viewer", "controlplane-operator"]));

        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/admin/v1/nodes")).StatusCode);
        using var issued = await alice.PostAsJsonAsync("/admin/v1/tokens", new JsonObject { ["role"] = "operator", ["subject"] = "automation" });
        Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        var body = JsonNode.Parse(await issued.Content.ReadAsStringAsync())!;
        Assert.Equal("oidc:alice", body["issuedBy"]!.GetValue<string>());

        // The operator token it issued works on its own (not capped by the short-lived JWT).
        Assert.True(body["expiresAt"]!.GetValue<DateTimeOffset>() > DateTimeOffset.UtcNow.AddDays(80));
        using var automation = _server.CreateClient(body["token"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await automation.GetAsync("/admin/v1/nodes")).StatusCode);
    }

    [Fact]
    public async Task ProviderTokenWithoutTheOperatorRole_Returns401()
    {
        using var bob = _server.CreateClient(_idp.Token("bob", Audience, roles: ["viewer"]));

        using var response = await bob.GetAsync("/admin/v1/nodes");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ProviderTokenForAnotherAudience_Returns401()
    {
        using var carol = _server.CreateClient(_idp.Token("carol", "another-api", roles: ["controlplane-operator"]));

        Assert.Equal(HttpStatusCode.Unauthorized, (await carol.GetAsync("/admin/v1/nodes")).StatusCode);
    }

    [Fact]
    public async Task TokenSignedByAnotherKey_Returns401()
    {
        using var other = new FakeIdentityProvider(_idp.Issuer);
        using var mallory = _server.CreateClient(other.Token("mallory", Audience, roles: ["controlplane-operator"]));

        Assert.Equal(HttpStatusCode.Unauthorized, (await mallory.GetAsync("/admin/v1/nodes")).StatusCode);
    }

    [Fact]
    public async Task BootstrapTokenTurnedOff_Returns401()
    {
        using var bootstrap = _server.CreateClient(BootstrapToken);

        using var response = await bootstrap.GetAsync("/admin/v1/nodes");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.StartsWith("Bearer", Assert.Single(response.Headers.WwwAuthenticate).ToString(), StringComparison.Ordinal);
    }

    /// <summary>An OpenID Connect provider reduced to what a resource server reads: discovery and the key set.</summary>
    private sealed class FakeIdentityProvider : IDisposable
    {
        private readonly RSA _rsa = RSA.Create(2048);
        private readonly RsaSecurityKey _key;
        private readonly HttpListener _listener = new();
        private readonly int _port;

        public FakeIdentityProvider(string? issuer = null)
        {
            _key = new RsaSecurityKey(_rsa) { KeyId = Guid.NewGuid().ToString("N") };
            _port = FreePort();
            Issuer = issuer ?? $"http://127.0.0.1:{_port}";
        }

        public string Issuer { get; }

        public void Start()
        {
            _listener.Prefixes.Add($"http://127.0.0.1:{_port}/");
            _listener.Start();
            _ = Task.Run(ServeAsync);
        }

        public string Token(string subject, string audience, string[] roles) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            Claims = new Dictionary<string, object> { ["sub"] = subject, ["roles"] = roles },
            IssuedAt = DateTime.UtcNow,
            NotBefore = DateTime.UtcNow.AddMinutes(-1),
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.RsaSha256),
        });

        public void Dispose()
        {
            if (_listener.IsListening)
            {
                _listener.Stop();
            }

            _listener.Close();
            _rsa.Dispose();
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                var path = context.Request.Url!.AbsolutePath;
                var body = path switch
                {
                    "/.well-known/openid-configuration" => JsonSerializer.Serialize(new Dictionary<string, object>
                    {
                        ["issuer"] = Issuer,
                        ["jwks_uri"] = $"{Issuer}/jwks",
                        ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
                    }),
                    "/jwks" => KeySet(),
                    _ => null,
                };
                context.Response.StatusCode = body is null ? 404 : 200;
                context.Response.ContentType = "application/json";
                var bytes = Encoding.UTF8.GetBytes(body ?? "{}");
                await context.Response.OutputStream.WriteAsync(bytes);
                context.Response.Close();
            }
        }

        private string KeySet()
        {
            var p = _rsa.ExportParameters(false);
            return JsonSerializer.Serialize(new
            {
                keys = new[]
                {
                    new { kty = "RSA", use = "sig", alg = "RS256", kid = _key.KeyId, n = Base64UrlEncoder.Encode(p.Modulus), e = Base64UrlEncoder.Encode(p.Exponent) },
                },
            });
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
