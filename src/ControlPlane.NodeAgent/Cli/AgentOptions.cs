using System.Diagnostics.CodeAnalysis;

namespace ControlPlane.NodeAgent.Cli;

/// <summary>What the agent was told on its command line (or in its environment).</summary>
/// <param name="Server">Base address of the control plane, e.g. <c>https://cp.example.com/</c> (always ends with '/').</param>
/// <param name="NodeId">The node's enrolled id.</param>
/// <param name="Token">The node's bearer token.</param>
/// <param name="NvidiaSmiPath">Explicit nvidia-smi executable; <see langword="null"/> means "find it on PATH".</param>
/// <param name="RuntimeDirectory">Directory for the agent's runtime state; created at start when given.</param>
internal sealed record AgentOptions(Uri Server, string NodeId, string Token, string? NvidiaSmiPath, string? RuntimeDirectory)
{
    public const string ServerVariable = "CONTROLPLANE_SERVER";
    public const string NodeIdVariable = "CONTROLPLANE_NODE_ID";
    public const string TokenVariable = "CONTROLPLANE_NODE_TOKEN";

    public const string Usage = $"""
        usage: ControlPlane.NodeAgent --server URL --node-id ID --token TOKEN [--nvidia-smi PATH] [--runtime-dir DIR]

          --server URL        control plane base address, http or https   (env {ServerVariable})
          --node-id ID        this node's enrolled id                     (env {NodeIdVariable})
          --token TOKEN       this node's bearer token; prefer the env    (env {TokenVariable})
                              variable so the token is not visible in ps
          --nvidia-smi PATH   nvidia-smi to run (default: nvidia-smi found on PATH)
          --runtime-dir DIR   directory for the agent's runtime state (created if missing)
          -h, --help          show this help

        Command-line values win over environment variables.
        """;

    private static readonly HashSet<string> KnownOptions = ["--server", "--node-id", "--token", "--nvidia-smi", "--runtime-dir"];

    /// <summary>Parses <paramref name="args"/>, falling back to the environment for server, node id and token.</summary>
    public static bool TryParse(
        IReadOnlyList<string> args,
        Func<string, string?> getEnvironmentVariable,
        [NotNullWhen(true)] out AgentOptions? options,
        [NotNullWhen(false)] out string? error)
    {
        options = null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var (name, value) = SplitArgument(args[i]);
            if (!KnownOptions.Contains(name))
            {
                error = $"unknown argument '{args[i]}'";
                return false;
            }

            if (value is null)
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    error = $"{name} needs a value";
                    return false;
                }

                value = args[++i];
            }

            values[name] = value;
        }

        var server = Fallback(values.GetValueOrDefault("--server"), ServerVariable, getEnvironmentVariable);
        var nodeId = Fallback(values.GetValueOrDefault("--node-id"), NodeIdVariable, getEnvironmentVariable);
        var token = Fallback(values.GetValueOrDefault("--token"), TokenVariable, getEnvironmentVariable);
        var nvidiaSmi = values.GetValueOrDefault("--nvidia-smi");
        var runtimeDir = values.GetValueOrDefault("--runtime-dir");

        if (server is null)
        {
            error = $"missing --server (or {ServerVariable})";
            return false;
        }

        if (nodeId is null)
        {
            error = $"missing --node-id (or {NodeIdVariable})";
            return false;
        }

        if (token is null)
        {
            error = $"missing --token (or {TokenVariable})";
            return false;
        }

        error = ValidateServer(server, out var serverUri) ?? ValidateNodeId(nodeId) ?? ValidateToken(token)
            ?? ValidatePath(nvidiaSmi, "--nvidia-smi") ?? ValidatePath(runtimeDir, "--runtime-dir");
        if (error is not null || serverUri is null)
        {
            error ??= "invalid --server";
            return false;
        }

        options = new AgentOptions(serverUri, nodeId, token, nvidiaSmi, runtimeDir);
        return true;
    }

    public static bool IsHelpRequested(IReadOnlyList<string> args) => args.Any(a => a is "-h" or "--help");

    private static (string Name, string? Value) SplitArgument(string arg)
    {
        var equals = arg.IndexOf('=', StringComparison.Ordinal);
        return arg.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? (arg[..equals], arg[(equals + 1)..]) : (arg, null);
    }

    private static string? Fallback(string? value, string variable, Func<string, string?> getEnvironmentVariable)
    {
        // Values that come from files (systemd EnvironmentFile, Kubernetes secrets) often end in a newline.
        var fromEnvironment = getEnvironmentVariable(variable)?.Trim();
        return string.IsNullOrEmpty(value) ? (string.IsNullOrEmpty(fromEnvironment) ? null : fromEnvironment) : value;
    }

    private static string? ValidateServer(string server, out Uri? uri)
    {
        uri = null;
        if (!Uri.TryCreate(server, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
        {
            return $"--server must be an absolute http or https URL, got '{server}'";
        }

        // A trailing slash keeps a path prefix (https://host/controlplane/) when relative paths are appended.
        uri = parsed.AbsoluteUri.EndsWith('/') ? parsed : new Uri(parsed.AbsoluteUri + "/");
        return null;
    }

    private static string? ValidateNodeId(string nodeId) =>
        nodeId.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) ? $"--node-id must not contain spaces or control characters, got '{nodeId}'" : null;

    private static string? ValidateToken(string token) =>
        token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) ? "--token must not contain spaces or control characters" : null;

    private static string? ValidatePath(string? path, string name) =>
        path is not null && path.Trim().Length == 0 ? $"{name} must not be empty" : null;
}
