using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ControlPlane.Domain;

namespace ControlPlane.Server.Hosting;

/// <summary>
/// Reads every <see cref="decimal"/> of a request body, a JSON number or a string (<c>12.50</c> or <c>"12.50"</c>),
/// through <see cref="DecimalText.TryParseExact"/>: an exponent or more digits than <see cref="decimal"/> keeps is a
/// 400 that names the field, never an amount silently rounded.
/// </summary>
public sealed class ExactDecimalConverter : JsonConverter<decimal>
{
    // 28 significant digits, a sign, a point and leading zeros fit well within this; longer text is refused unread.
    private const int MaxLength = 100;

    public override decimal Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType is not (JsonTokenType.Number or JsonTokenType.String))
        {
            throw new JsonInputException($"must be {DecimalText.Rule}.");
        }

        var length = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (length > MaxLength || reader.ValueIsEscaped)
        {
            throw new JsonInputException($"must be {DecimalText.Rule}.");
        }

        ReadOnlySpan<byte> utf8 = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan;
        Span<char> text = stackalloc char[MaxLength];
        var count = Encoding.UTF8.GetChars(utf8, text);
        return DecimalText.TryParseExact(text[..count], out var value)
            ? value
            : throw new JsonInputException($"must be {DecimalText.Rule}.");
    }

    public override void Write(Utf8JsonWriter writer, decimal value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
}
