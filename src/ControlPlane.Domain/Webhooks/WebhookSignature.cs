using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ControlPlane.Domain.Webhooks;

/// <summary>
/// How a webhook request is signed: <c>v1=</c> and the lower-case hex HMAC-SHA256, keyed with the webhook's secret (its
/// UTF-8 bytes), of the timestamp header's text, a full stop, and the body's bytes exactly as sent. The timestamp is in
/// the signed bytes so that a captured request cannot be replayed later with a fresh timestamp.
/// </summary>
public static class WebhookSignature
{
    public const string Version = "v1";

    /// <summary>How far a receiver should let a request's timestamp be from its own clock.</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    /// <summary>The <c>ControlPlane-Signature</c> header value for <paramref name="body"/> sent at <paramref name="unixSeconds"/>.</summary>
    public static string Sign(string secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        var prefix = Encoding.ASCII.GetBytes(unixSeconds.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed);
        return Version + "=" + Convert.ToHexStringLower(mac);
    }

    /// <summary>
    /// What a receiver does: the timestamp is a whole number of seconds within <paramref name="tolerance"/> of
    /// <paramref name="now"/>, and one of the signature header's space-separated values is the expected one (compared
    /// in constant time).
    /// </summary>
    public static bool Verify(string secret, string? timestampHeader, string? signatureHeader, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        if (string.IsNullOrEmpty(signatureHeader)
            || !long.TryParse(timestampHeader, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || Math.Abs(now.ToUnixTimeSeconds() - seconds) > tolerance.TotalSeconds)
        {
            return false;
        }

        var expected = Encoding.ASCII.GetBytes(Sign(secret, seconds, body));
        var matched = false;
        foreach (var candidate in signatureHeader.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            matched |= CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(candidate));
        }

        return matched;
    }
}
