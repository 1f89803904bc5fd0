namespace ControlPlane.Server.Hosting;

/// <summary>A start-up problem the operator can fix; printed as one clear message, never as a stack trace.</summary>
public sealed class StartupException(string message, Exception? inner = null) : Exception(message, inner);
