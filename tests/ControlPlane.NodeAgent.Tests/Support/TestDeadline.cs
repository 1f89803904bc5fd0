namespace ControlPlane.NodeAgent.Tests.Support;

internal static class TestDeadline
{
    /// <summary>How long a test waits for something that should happen at once; only a hang reaches it.</summary>
    public static readonly TimeSpan Value = TimeSpan.FromSeconds(30);
}
