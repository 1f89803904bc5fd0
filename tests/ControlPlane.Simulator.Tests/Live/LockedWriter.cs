using System.Text;

namespace ControlPlane.Simulator.Tests.Live;

/// <summary>What a command printed, from any thread, readable while it runs.</summary>
internal sealed class LockedWriter : TextWriter
{
    private readonly StringBuilder _text = new();

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        lock (_text)
        {
            _text.Append(value);
        }
    }

    public override void Write(string? value)
    {
        lock (_text)
        {
            _text.Append(value);
        }
    }

    public override void WriteLine(string? value)
    {
        lock (_text)
        {
            _text.Append(value).Append(Environment.NewLine);
        }
    }

    public override string ToString()
    {
        lock (_text)
        {
            return _text.ToString();
        }
    }
}
