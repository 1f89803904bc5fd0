using ControlPlane.Simulator.Live;

namespace ControlPlane.Simulator.Tests.Live;

public sealed class AgentErrorWriterTests
{
    [Fact]
    public void WriteLine_AgentLogRecords_PassesOnlyErrorsWithThePrefix()
    {
        using var output = new StringWriter();
        using var writer = new AgentErrorWriter(output, "[agent n-1] ");

        writer.WriteLine("2026-01-02T03:04:05.678Z info  heartbeat 1 accepted by http://cp/; next every 2 s");
        writer.WriteLine("2026-01-02T03:04:07.678Z warn  heartbeat 2 failed (attempt 1): cannot reach http://cp/");
        writer.WriteLine("2026-01-02T03:04:09.678Z error nvidia-smi exited with code 9: driver (reporting the last 8 GPUs known)");

        Assert.Equal("[agent n-1] nvidia-smi exited with code 9: driver (reporting the last 8 GPUs known)" + Environment.NewLine, output.ToString());
    }
}
