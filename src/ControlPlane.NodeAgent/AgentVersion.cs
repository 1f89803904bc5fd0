using System.Reflection;

namespace ControlPlane.NodeAgent;

internal static class AgentVersion
{
    /// <summary>The assembly's informational version (e.g. <c>1.0.0+3f2a9c1</c>), reported in every heartbeat.</summary>
    public static string Current { get; } =
        typeof(AgentVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
