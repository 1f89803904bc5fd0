using System.Text;

namespace ControlPlane.Simulator.Live;

/// <summary>
/// Passes on only the <c>error</c> records of an <see cref="ControlPlane.NodeAgent.AgentLog"/>
/// (<c>{timestamp} {level} {message}</c>, one per line), prefixed with the node they came from.
/// </summary>
internal sealed class AgentErrorWriter(TextWriter output, string prefix) : TextWriter
{
    public override Encoding Encoding => output.Encoding;

    public override void WriteLine(string? value)
    {
        if (value is null)
        {
            return;
        }

        var parts = value.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts is [_, "error", var message])
        {
            output.WriteLine(prefix + message);
        }
    }

    // AgentLog writes whole lines only; anything else is not a log record.
    public override void Write(char value)
    {
    }
}
