using System.Security.Cryptography;

namespace ControlPlane.Domain.Webhooks;

/// <summary>
/// One of a customer's webhooks: where events are posted, which kinds, and the secret they are signed with.
/// </summary>
/// <param name="WebhookId">The project's id rule (<see cref="Ids.IsValid"/>), unique within the customer.</param>
/// <param name="Url">An absolute https URL (http too where the server allows it), without user name or password.</param>
/// <param name="Kinds">The event kinds it receives; empty: every kind, present and future.</param>
/// <param name="Secret">The HMAC key (<see cref="WebhookSignature"/>).</param>
/// <param name="SecretSetAt">When the secret was generated or given.</param>
[GenerateSerializer, Alias("webhook-endpoint")]
public sealed record WebhookEndpoint(
    [property: Id(0)] string WebhookId,
    [property: Id(1)] string Url,
    [property: Id(2)] string[] Kinds,
    [property: Id(3)] string Secret,
    [property: Id(4)] DateTimeOffset SecretSetAt)
{
    public const int MaxUrlLength = 2000;

    /// <summary>A given secret is at least this long (a generated one is 32 random bytes).</summary>
    public const int MinSecretLength = 24;

    public const int MaxSecretLength = 200;

    /// <summary>The most webhooks a customer has.</summary>
    public const int MaxPerCustomer = 10;

    /// <summary>Generated secrets start with this, so one is recognised in a config file or a leak scanner.</summary>
    public const string SecretPrefix = "whsec_";

    public bool Receives(string kind) => Kinds.Length == 0 || Kinds.Contains(kind, StringComparer.Ordinal);

    /// <summary>A new secret: <see cref="SecretPrefix"/> and 32 random bytes, base64url.</summary>
    public static string GenerateSecret() =>
        SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Field errors of one webhook of a request, its fields prefixed with <paramref name="field"/> (e.g. <c>webhooks[0]</c>).</summary>
    public static Dictionary<string, string[]> Validate(string field, string? webhookId, string? url, string[]? kinds, string? secret, bool allowHttp)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (!Ids.IsValid(webhookId))
        {
            errors[field + ".webhookId"] = [$"Required: {Ids.Rule}."];
        }

        if (UrlError(url, allowHttp) is { } urlError)
        {
            errors[field + ".url"] = [urlError];
        }

        if (kinds is not null)
        {
            if (kinds.Any(k => !WebhookEventKinds.IsKnown(k)))
            {
                errors[field + ".kinds"] = [$"Each kind must be one of: {string.Join(", ", WebhookEventKinds.All)}."];
            }
            else if (kinds.Distinct(StringComparer.Ordinal).Count() != kinds.Length)
            {
                errors[field + ".kinds"] = ["List each kind once."];
            }
        }

        if (secret is not null
            && (secret.Length is < MinSecretLength or > MaxSecretLength || secret.Any(c => c is < '!' or > '~')))
        {
            errors[field + ".secret"] = [$"{MinSecretLength} to {MaxSecretLength} printable ASCII characters without spaces; leave it out and the server generates one."];
        }

        return errors;
    }

    private static string? UrlError(string? url, bool allowHttp)
    {
        var schemes = allowHttp ? "https or http" : "https";
        if (string.IsNullOrWhiteSpace(url) || url.Length > MaxUrlLength || FreeText.HasUnsafeCharacter(url))
        {
            return $"Required: an absolute {schemes} URL of at most {MaxUrlLength} characters.";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)
            || !(uri.Scheme == Uri.UriSchemeHttps || (allowHttp && uri.Scheme == Uri.UriSchemeHttp))
            || string.IsNullOrEmpty(uri.Host))
        {
            return $"Must be an absolute {schemes} URL" + (allowHttp ? "." : " (this server refuses plain http: Webhooks:AllowHttp).");
        }

        if (uri.UserInfo.Length > 0)
        {
            return "Must not carry a user name or password (they would be shown to every operator); the signature authenticates the sender.";
        }

        return uri.Fragment.Length > 0 ? "Must not have a fragment (#...)." : null;
    }
}
