using System.Diagnostics;
using System.Text;

namespace ControlPlane.Server.Tests.Hosting;

/// <summary>Everything a child process printed (stdout and stderr, in arrival order), for assertions and failure messages.</summary>
public sealed class OutputLog
{
    private readonly StringBuilder _text = new();

    public void Attach(Process process)
    {
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_text)
        {
            _text.AppendLine(line);
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
