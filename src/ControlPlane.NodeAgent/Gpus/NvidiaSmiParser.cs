using System.Globalization;

namespace ControlPlane.NodeAgent.Gpus;

/// <summary>Parses <c>nvidia-smi --query-gpu=... --format=csv,noheader,nounits</c> output.</summary>
internal static class NvidiaSmiParser
{
    /// <summary>The columns, in order; <see cref="NvidiaSmiReader"/> asks for exactly these.</summary>
    public const string QueryColumns =
        "index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu,power.draw,ecc.errors.uncorrected.volatile.total";

    private const int ColumnCount = 9;

    /// <exception cref="FormatException">A line is not a GPU record; the message names the line.</exception>
    public static IReadOnlyList<GpuReport> Parse(string output)
    {
        var gpus = new List<GpuReport>();
        var lines = output.ReplaceLineEndings("\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length > 0)
            {
                gpus.Add(ParseLine(line, i + 1));
            }
        }

        return gpus;
    }

    private static GpuReport ParseLine(string line, int lineNumber)
    {
        var fields = line.Split(',', StringSplitOptions.TrimEntries);
        if (fields.Length < ColumnCount)
        {
            throw Error(lineNumber, line, $"expected {ColumnCount} comma-separated fields ({QueryColumns}), found {fields.Length}");
        }

        // The name is the only free-text column; should a product name ever contain a comma, the extra fields are its.
        var nameEnd = 3 + fields.Length - ColumnCount;
        var name = string.Join(", ", fields[2..nameEnd]);
        var measurements = fields[nameEnd..];

        if (!int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            throw Error(lineNumber, line, $"index '{fields[0]}' is not a number");
        }

        if (IsNotAvailable(fields[1]) || IsNotAvailable(name))
        {
            throw Error(lineNumber, line, "uuid and name must be present");
        }

        return new GpuReport(
            index,
            fields[1],
            name,
            MemoryTotalMiB: ParseLong(measurements[0], "memory.total", lineNumber, line),
            MemoryUsedMiB: ParseLong(measurements[1], "memory.used", lineNumber, line),
            UtilizationPercent: ParseInt(measurements[2], "utilization.gpu", lineNumber, line),
            TemperatureC: ParseInt(measurements[3], "temperature.gpu", lineNumber, line),
            PowerWatts: ParseDouble(measurements[4], "power.draw", lineNumber, line),
            EccUncorrected: ParseLong(measurements[5], "ecc.errors.uncorrected.volatile.total", lineNumber, line));
    }

    // nvidia-smi writes "[N/A]", "[Not Supported]", "[Unknown Error]", ... for values it cannot give; older drivers omit the brackets.
    private static bool IsNotAvailable(string value) =>
        value.Length == 0 || value is "N/A" or "Not Supported" || (value.StartsWith('[') && value.EndsWith(']'));

    private static long? ParseLong(string value, string column, int lineNumber, string line) =>
        IsNotAvailable(value) ? null
        : long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed) ? parsed
        : throw Error(lineNumber, line, $"{column} '{value}' is not a whole number");

    private static int? ParseInt(string value, string column, int lineNumber, string line) =>
        IsNotAvailable(value) ? null
        : int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed) ? parsed
        : throw Error(lineNumber, line, $"{column} '{value}' is not a whole number");

    private static double? ParseDouble(string value, string column, int lineNumber, string line) =>
        IsNotAvailable(value) ? null
        : double.TryParse(value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var parsed) ? parsed
        : throw Error(lineNumber, line, $"{column} '{value}' is not a number");

    private static FormatException Error(int lineNumber, string line, string problem) =>
        new($"line {lineNumber} '{(line.Length > 120 ? line[..120] + "..." : line)}': {problem}");
}
