using System.Text;

namespace ControlPlane.NodeAgent.Tests.Support;

/// <summary>Collects the lines an <see cref="AgentLog"/> writes, safely across threads.</summary>
internal sealed class LogCapture : TextWriter
{
    private readonly Lock _gate = new();
    private readonly List<string> _lines = [];

    public override Encoding Encoding => Encoding.UTF8;

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    public override void WriteLine(string? value)
    {
        lock (_gate)
        {
            _lines.Add(value ?? "");
        }
    }
}
