using System.CommandLine;

namespace ControlPlane.Simulator.Cli;

/// <summary>
/// <c>--server</c> and <c>--token</c> of the commands that talk to a running control plane, each falling back to
/// the environment (so the token need not be visible in ps).
/// </summary>
internal sealed class ControlPlaneAccess(Func<string, string?> getEnvironmentVariable)
{
    public Option<string> Server { get; } = SimulatorCli.Text(
        "--server", "URL", $"the control plane's base address [env: {SimulatorOptions.ServerVariable}]");

    public Option<string> Token { get; } = SimulatorCli.Text(
        "--token", "TOKEN", $"its operator token; prefer the env variable, so the token is not visible in ps [env: {SimulatorOptions.TokenVariable}]");

    /// <summary>Whether a server was given, on the command line or in the environment.</summary>
    public bool HasServer(ParseResult parse) =>
        SimulatorCli.Fallback(parse.GetValue(Server), SimulatorOptions.ServerVariable, getEnvironmentVariable) is not null;

    /// <summary>The control plane's address (ending with '/') and operator token; null, or why not.</summary>
    public string? Resolve(string command, ParseResult parse, out Uri? server, out string? token)
    {
        server = null;
        var serverText = SimulatorCli.Fallback(parse.GetValue(Server), SimulatorOptions.ServerVariable, getEnvironmentVariable);
        token = SimulatorCli.Fallback(parse.GetValue(Token), SimulatorOptions.TokenVariable, getEnvironmentVariable);
        if (serverText is null)
        {
            return $"{command} needs --server (or {SimulatorOptions.ServerVariable})";
        }

        if (token is null)
        {
            return $"{command} needs --token (or {SimulatorOptions.TokenVariable}): the control plane's operator token";
        }

        if (!Uri.TryCreate(serverText, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
        {
            return $"--server must be an absolute http or https URL, got '{serverText}'";
        }

        if (token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return "--token must not contain spaces or control characters";
        }

        // A trailing slash keeps a path prefix (https://host/controlplane/) when relative paths are appended.
        server = parsed.AbsoluteUri.EndsWith('/') ? parsed : new Uri(parsed.AbsoluteUri + "/");
        return null;
    }
}
