using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace ControlPlane.Domain;

/// <summary>
/// Text a request stores and the console shows (a node's provider, an agent's version, GPU names and UUIDs,
/// model names): bounded, and free of characters that change how the text around it reads: control characters
/// (NUL, CR, LF, tab, escape, C1) that forge log lines or break displays, and bidirectional formatting characters
/// (U+202A-U+202E, U+2066-U+2069 and the invisible marks U+200E, U+200F, U+061C) that show text in an order
/// other than stored ("Trojan Source"). A lone surrogate is not text either.
/// </summary>
public static class FreeText
{
    /// <summary>The rule in words, for error messages.</summary>
    public const string Rule = "no control characters (NUL, CR, LF, tab...) or bidirectional formatting characters";

    private static readonly SearchValues<char> Bidi = SearchValues.Create("\u061C\u200E\u200F\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069");

    /// <summary>Whether <paramref name="text"/> is 1 to <paramref name="maxLength"/> characters, not blank, and clean.</summary>
    public static bool IsClean([NotNullWhen(true)] string? text, int maxLength) =>
        !string.IsNullOrWhiteSpace(text) && text.Length <= maxLength && !HasUnsafeCharacter(text);

    /// <summary>Whether <paramref name="text"/> holds a control or bidirectional formatting character, or a lone surrogate.</summary>
    public static bool HasUnsafeCharacter(ReadOnlySpan<char> text)
    {
        while (!text.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(text, out var rune, out var consumed) != OperationStatus.Done
                || Rune.IsControl(rune)
                || (rune.IsBmp && Bidi.Contains((char)rune.Value)))
            {
                return true;
            }

            text = text[consumed..];
        }

        return false;
    }

    /// <summary>
    /// <paramref name="text"/> with every unsafe character (see <see cref="HasUnsafeCharacter"/>) replaced by a space
    /// and cut to <paramref name="maxLength"/> characters: for diagnostics an agent reports (an error message may span
    /// lines), which are worth keeping in a readable form rather than refusing the whole report.
    /// </summary>
    public static string Clean(string text, int maxLength)
    {
        var builder = new StringBuilder(Math.Min(text.Length, maxLength));
        var rest = text.AsSpan();
        while (!rest.IsEmpty && builder.Length < maxLength)
        {
            var status = Rune.DecodeFromUtf16(rest, out var rune, out var consumed);
            var safe = status == OperationStatus.Done && !Rune.IsControl(rune) && !(rune.IsBmp && Bidi.Contains((char)rune.Value));
            if (!safe)
            {
                builder.Append(' ');
            }
            else if (builder.Length + rune.Utf16SequenceLength <= maxLength)
            {
                builder.Append(rest[..consumed]);
            }
            else
            {
                break;
            }

            rest = rest[consumed..];
        }

        return builder.ToString();
    }
}
