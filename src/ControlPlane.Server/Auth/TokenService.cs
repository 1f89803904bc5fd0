using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ControlPlane.Server.Auth;

/// <summary>A verified bearer token.</summary>
/// <param name="ExpiresAt">When it stops being accepted; null for node tokens (their node grain knows the current one) and the bootstrap token.</param>
public sealed record TokenIdentity(string Role, string Subject, string? TokenId, DateTimeOffset? ExpiresAt = null);

/// <summary>
/// Issues and verifies bearer tokens. The operator's bootstrap token is a shared secret compared in
/// constant time; every other token is <c>cp1.{payload}.{hmac}</c>, signed with a key all silos share, so
/// checking one costs no grain call and no database read on the heartbeat path. The payload names the
/// role, the subject (e.g. the node id) and a token id that the subject's grain can revoke.
/// <para>
/// Gateway, customer and operator tokens also carry when they expire and the installation they were issued by
/// (<c>Clustering:ServiceId</c>): another installation that shares the signing secret refuses them, and so does this
/// one once they expired. Their ids are kept by the token registry, which can revoke them. Node tokens carry neither:
/// each is checked against its node grain's current token id, which another installation does not know.
/// </para>
/// </summary>
public sealed partial class TokenService
{
    /// <summary>What every signed token starts with; a bootstrap token may not (it would be taken for a signed one).</summary>
    public const string Prefix = "cp1.";
    private readonly byte[] _bootstrapHash;
    private readonly byte[] _signingKey;
    private readonly string _installation;
    private readonly bool _bootstrapEnabled;

    /// <param name="installation">What tells this installation's tokens from another's (its <c>Clustering:ServiceId</c>).</param>
    /// <param name="bootstrapEnabled">Whether the bootstrap token itself is accepted (it still derives the default signing key).</param>
    public TokenService(string bootstrapToken, string? signingKey, string installation, bool bootstrapEnabled = true)
    {
        _installation = installation;
        _bootstrapEnabled = bootstrapEnabled;
        _bootstrapHash = SHA256.HashData(Encoding.UTF8.GetBytes(bootstrapToken));
        _signingKey = signingKey is not null
            ? SHA256.HashData(Encoding.UTF8.GetBytes(signingKey))
            : HMACSHA256.HashData(Encoding.UTF8.GetBytes(bootstrapToken), "controlplane/token-signing/v1"u8);
    }

    /// <summary>A signed node token; deterministic for the same inputs, so a retried enrollment gets the same token back.</summary>
    public string Issue(string role, string subject, string tokenId, DateTimeOffset issuedAt) =>
        Seal(new Payload(role, subject, tokenId, issuedAt.ToUnixTimeSeconds()));

    /// <summary>A signed gateway, customer or operator token of this installation, refused from <paramref name="expiresAt"/> on.</summary>
    public string Issue(string role, string subject, string tokenId, DateTimeOffset issuedAt, DateTimeOffset expiresAt) =>
        Seal(new Payload(role, subject, tokenId, issuedAt.ToUnixTimeSeconds(), expiresAt.ToUnixTimeSeconds(), _installation));

    private string Seal(Payload claims)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(claims, PayloadContext.Default.Payload);
        var body = Base64Url.EncodeToString(payload);
        var signature = Base64Url.EncodeToString(Sign(body));
        return Prefix + body + "." + signature;
    }

    /// <summary>The identity a token proves at <paramref name="now"/>, or null when it proves none.</summary>
    public TokenIdentity? Verify(string token, DateTimeOffset now)
    {
        if (!token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
            return CryptographicOperations.FixedTimeEquals(hash, _bootstrapHash) && _bootstrapEnabled
                ? new TokenIdentity(Roles.Operator, "bootstrap", null)
                : null;
        }

        var rest = token.AsSpan(Prefix.Length);
        var dot = rest.IndexOf('.');
        if (dot <= 0 || rest.Length > 4096)
        {
            return null;
        }

        var body = rest[..dot].ToString();
        var signatureText = rest[(dot + 1)..];
        byte[] signature;
        byte[] payloadBytes;
        try
        {
            signature = Base64Url.DecodeFromChars(signatureText);
            payloadBytes = Base64Url.DecodeFromChars(body);
        }
        catch (FormatException)
        {
            return null;
        }

        // The decoder also takes padding and whitespace: a token is valid only as it was issued, so that one
        // token has one spelling (a cache key, a log search or a revocation list sees the same string).
        if (!signatureText.SequenceEqual(Base64Url.EncodeToString(signature)) || body != Base64Url.EncodeToString(payloadBytes))
        {
            return null;
        }

        if (!CryptographicOperations.FixedTimeEquals(signature, Sign(body)))
        {
            return null;
        }

        try
        {
            var payload = JsonSerializer.Deserialize(payloadBytes, PayloadContext.Default.Payload);
            if (payload is not { R.Length: > 0, S.Length: > 0 })
            {
                return null;
            }

            if (payload.R == Roles.Node)
            {
                return new TokenIdentity(payload.R, payload.S, payload.I);
            }

            // Issued tokens: of this installation, not expired. One without either was issued before tokens expired.
            if (payload.X is not { } expires || !string.Equals(payload.N, _installation, StringComparison.Ordinal) || now.ToUnixTimeSeconds() >= expires)
            {
                return null;
            }

            return new TokenIdentity(payload.R, payload.S, payload.I, DateTimeOffset.FromUnixTimeSeconds(expires));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private byte[] Sign(string body) => HMACSHA256.HashData(_signingKey, Encoding.ASCII.GetBytes(body));

    /// <summary>Role, subject, token id, issued at; for issued tokens also expires at (unix seconds) and installation.</summary>
    internal sealed record Payload(string R, string S, string? I, long T, long? X = null, string? N = null);

    // Absent fields are left out, so a node token reads as it always did.
    [JsonSerializable(typeof(Payload))]
    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
    internal sealed partial class PayloadContext : JsonSerializerContext;
}
