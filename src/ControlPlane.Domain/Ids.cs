using System.Diagnostics.CodeAnalysis;

namespace ControlPlane.Domain;

/// <summary>
/// The one rule for every id a request names, in a body or a path (deployments, customers, contracts,
/// partners, SKUs, regions): it appears in URLs, grain keys and invoice ids, so it must survive a path
/// unchanged. An id that starts with a dot (<c>.</c>, <c>..</c>) is a path segment a URL cannot address.
/// </summary>
public static class Ids
{
    /// <summary>Longest id.</summary>
    public const int MaxLength = 100;

    /// <summary>The rule in words, for error messages.</summary>
    public const string Rule = "1 to 100 letters, digits, '-', '_' or '.', starting with a letter or digit";

    /// <summary>Whether <paramref name="id"/> follows <see cref="Rule"/>.</summary>
    // Checked for every event of a usage batch: a search over the characters, no delegate or enumerator.
    public static bool IsValid([NotNullWhen(true)] string? id) =>
        !string.IsNullOrEmpty(id)
        && id.Length <= MaxLength
        && char.IsAsciiLetterOrDigit(id[0])
        && !id.AsSpan().ContainsAnyExcept(Allowed);

    private static readonly System.Buffers.SearchValues<char> Allowed =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");
}
