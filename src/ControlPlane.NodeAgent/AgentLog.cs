using System.Globalization;

namespace ControlPlane.NodeAgent;

/// <summary>Timestamped one-line log records; journald and kubectl logs add nothing else we need.</summary>
internal sealed class AgentLog(TextWriter writer, TimeProvider time)
{
    private readonly Lock _gate = new();

    public void Info(string message) => Write("info", message);

    public void Warn(string message) => Write("warn", message);

    public void Error(string message) => Write("error", message);

    private void Write(string level, string message)
    {
        // One record per line, whatever a child process or a server put in the message.
        var oneLine = message.ReplaceLineEndings(" ").Trim();
        var timestamp = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        lock (_gate)
        {
            writer.WriteLine($"{timestamp} {level,-5} {oneLine}");
        }
    }
}
