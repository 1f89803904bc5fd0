using System.Text.Json;
using System.Text.Json.Serialization;

namespace ControlPlane.Server.Hosting;

/// <summary>
/// Enums as their camelCase names, read case-insensitively; numbers are refused, and an unknown name is a 400 that
/// lists the allowed ones (<see cref="JsonStringEnumConverter"/> would answer with the .NET type's name).
/// </summary>
public sealed class NamedEnumConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(NamedEnumConverter<>).MakeGenericType(typeToConvert))!;
}

internal sealed class NamedEnumConverter<T> : JsonConverter<T>
    where T : struct, Enum
{
    private static readonly Dictionary<T, string> NameOf = Enum.GetValues<T>()
        .Distinct()
        .ToDictionary(v => v, v => JsonNamingPolicy.CamelCase.ConvertName(v.ToString()));

    private static readonly Dictionary<string, T> ValueOf = NameOf.ToDictionary(p => p.Value, p => p.Key, StringComparer.OrdinalIgnoreCase);

    private static readonly string Allowed = $"must be one of: {string.Join(", ", NameOf.Values)}.";

    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && reader.GetString() is { } name && ValueOf.TryGetValue(name, out var value)
            ? value
            : throw new JsonInputException(Allowed);

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        if (NameOf.TryGetValue(value, out var name))
        {
            writer.WriteStringValue(name);
        }
        else
        {
            writer.WriteNumberValue(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public override T ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetString() is { } name && ValueOf.TryGetValue(name, out var value) ? value : throw new JsonInputException(Allowed);

    public override void WriteAsPropertyName(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
        writer.WritePropertyName(NameOf.TryGetValue(value, out var name) ? name : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture).ToString(System.Globalization.CultureInfo.InvariantCulture));
}
