using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ControlPlane.Server.Auth;

/// <summary>A verified bearer token.</summary>
public sealed record TokenIdentity(string Role, string Subject, string? TokenId);

/// <summary>
/// Issues and verifies bearer tokens. The operator's bootstrap token is a shared secret compared in
/// constant time; every other token is <c>cp1.{payload}.{hmac}</c>, signed with a key all silos share, so
/// checking one costs no grain call and no database read on the heartbeat path. The payload names the
/// role, the subject (e.g. the node id) and a token id that the subject's grain can revoke.
/// </summary>
public sealed partial class TokenService
{
    /// <summary>What every signed token starts with; a bootstrap token may not (it would be taken for a signed one).</summary>
    public const string Prefix = "cp1.";
    private readonly byte[] _bootstrapHash;
    private readonly byte[] _signingKey;

    public TokenService(string bootstrapToken, string? signingKey)
    {
        _bootstrapHash = SHA256.HashData(Encoding.UTF8.GetBytes(bootstrapToken));
        _signingKey = signingKey is not null
            ? SHA256.HashData(Encoding.UTF8.GetBytes(signingKey))
            : HMACSHA256.HashData(Encoding.UTF8.GetBytes(bootstrapToken), "controlplane/token-signing/v1"u8);
    }

    /// <summary>A signed token; deterministic for the same inputs, so a retried enrollment gets the same token back.</summary>
    public string Issue(string role, string subject, string tokenId, DateTimeOffset issuedAt)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(
            new Payload(role, subject, tokenId, issuedAt.ToUnixTimeSeconds()),
            PayloadContext.Default.Payload);
        var body = Base64Url.EncodeToString(payload);
        var signature = Base64Url.EncodeToString(Sign(body));
        return Prefix + body + "." + signature;
    }

    public TokenIdentity? Verify(string token)
    {
        if (!token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
            return CryptographicOperations.FixedTimeEquals(hash, _bootstrapHash)
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
            return payload is { R.Length: > 0, S.Length: > 0 } ? new TokenIdentity(payload.R, payload.S, payload.I) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private byte[] Sign(string body) => HMACSHA256.HashData(_signingKey, Encoding.ASCII.GetBytes(body));

    internal sealed record Payload(string R, string S, string? I, long T);

    [JsonSerializable(typeof(Payload))]
    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
    internal sealed partial class PayloadContext : JsonSerializerContext;
}
