using System.Text.Json;
using Microsoft.Extensions.Logging.Console;

namespace ControlPlane.Server.Hosting;

/// <summary>
/// What the server writes to the console outside its loggers (start-up lines, the banner, a refusal to start), in the
/// format of its logs: <c>Logging:Console:FormatterName</c> <c>json</c> makes every line one JSON object, so a log
/// pipeline that parses JSON reads the start-up lines too; otherwise plain <c>controlplane: ...</c> lines.
/// </summary>
public sealed class ConsoleOutput
{
    private const string Category = "ControlPlane.Server";
    private const string Prefix = "controlplane: ";
    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
    private static readonly Lock Writing = new();

    private ConsoleOutput(bool isJson) => IsJson = isJson;

    /// <summary>Plain lines, for a failure before the configuration could be read.</summary>
    public static ConsoleOutput Plain { get; } = new(isJson: false);

    public bool IsJson { get; }

    public static ConsoleOutput From(IConfiguration configuration) =>
        new(string.Equals(configuration["Logging:Console:FormatterName"], ConsoleFormatterNames.Json, StringComparison.OrdinalIgnoreCase));

    public void Info(string message) => Write(Console.Out, LogLevel.Information, message);

    public void Warning(string message) => Write(Console.Out, LogLevel.Warning, message);

    public void Error(string message) => Write(Console.Error, LogLevel.Error, message);

    /// <summary>The console logger of the start-up steps (migrations), in the same format as the host's.</summary>
    public ILoggerFactory CreateStartupLoggers(IConfiguration configuration) => LoggerFactory.Create(logging =>
    {
        logging.AddConfiguration(configuration.GetSection("Logging"));
        if (IsJson)
        {
            logging.AddJsonConsole(o => ConfigureJson(o, configuration));
        }
        else
        {
            logging.AddSimpleConsole(o => o.SingleLine = true);
        }
    });

    /// <summary>
    /// JSON log lines carry their scopes (the trace and span ids of the request they were written in) and a UTC
    /// timestamp unless the configuration says otherwise.
    /// </summary>
    public static void ConfigureJson(JsonConsoleFormatterOptions options, IConfiguration configuration)
    {
        var formatter = configuration.GetSection("Logging:Console:FormatterOptions");
        options.IncludeScopes = formatter.GetValue(nameof(options.IncludeScopes), true);
        options.UseUtcTimestamp = formatter.GetValue(nameof(options.UseUtcTimestamp), true);
        options.TimestampFormat ??= TimestampFormat;
    }

    private void Write(TextWriter writer, LogLevel level, string message)
    {
        if (!IsJson)
        {
            writer.WriteLine(Prefix + (level == LogLevel.Warning ? "WARNING " : "") + message);
            return;
        }

        // The fields of Microsoft.Extensions.Logging's JSON console formatter, so both kinds of line parse alike.
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("Timestamp", DateTime.UtcNow.ToString(TimestampFormat, System.Globalization.CultureInfo.InvariantCulture));
            json.WriteNumber("EventId", 0);
            json.WriteString("LogLevel", level.ToString());
            json.WriteString("Category", Category);
            json.WriteString("Message", message);
            json.WriteEndObject();
        }

        lock (Writing)
        {
            writer.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        }
    }
}
