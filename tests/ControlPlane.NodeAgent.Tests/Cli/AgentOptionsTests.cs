using ControlPlane.NodeAgent.Cli;

namespace ControlPlane.NodeAgent.Tests.Cli;

public sealed class AgentOptionsTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void TryParse_AllArguments_ReturnsOptions()
    {
        string[] args = ["--server", "http://cp:5000", "--node-id", "node-a", "--token", "t0k", "--nvidia-smi", "/opt/smi", "--runtime-dir", "/run/agent"];

        Assert.True(AgentOptions.TryParse(args, NoEnvironment, out var options, out var error), error);

        Assert.Equal(new AgentOptions(new Uri("http://cp:5000/"), "node-a", "t0k", "/opt/smi", "/run/agent"), options);
    }

    [Fact]
    public void TryParse_OptionalArgumentsLeftOut_AreNull()
    {
        Assert.True(AgentOptions.TryParse(["--server", "https://cp", "--node-id", "n", "--token", "t"], NoEnvironment, out var options, out _));

        Assert.Null(options.NvidiaSmiPath);
        Assert.Null(options.RuntimeDirectory);
    }

    [Fact]
    public void TryParse_EqualsForm_IsAccepted()
    {
        Assert.True(AgentOptions.TryParse(["--server=https://cp/base", "--node-id=n", "--token=a=b"], NoEnvironment, out var options, out _));

        Assert.Equal("https://cp/base/", options.Server.AbsoluteUri);
        Assert.Equal("a=b", options.Token);
    }

    [Fact]
    public void TryParse_MissingServer_ReturnsError()
    {
        Assert.False(AgentOptions.TryParse(["--node-id", "n", "--token", "t"], NoEnvironment, out var options, out var error));

        Assert.Null(options);
        Assert.Equal("missing --server (or CONTROLPLANE_SERVER)", error);
    }

    [Fact]
    public void TryParse_MissingToken_ReturnsError()
    {
        Assert.False(AgentOptions.TryParse(["--server", "http://cp", "--node-id", "n"], NoEnvironment, out _, out var error));

        Assert.Equal("missing --token (or CONTROLPLANE_NODE_TOKEN)", error);
    }

    [Fact]
    public void TryParse_EnvironmentOnly_UsesTheEnvironment()
    {
        var environment = new Dictionary<string, string>
        {
            ["CONTROLPLANE_SERVER"] = "http://cp:5000",
            ["CONTROLPLANE_NODE_ID"] = "node-env",
            ["CONTROLPLANE_NODE_TOKEN"] = "from-secret-file\n",
        };

        Assert.True(AgentOptions.TryParse([], environment.GetValueOrDefault, out var options, out var error), error);

        Assert.Equal(new AgentOptions(new Uri("http://cp:5000/"), "node-env", "from-secret-file", null, null), options);
    }

    [Fact]
    public void TryParse_ArgumentAndEnvironment_ArgumentWins()
    {
        var environment = new Dictionary<string, string>
        {
            ["CONTROLPLANE_SERVER"] = "http://env",
            ["CONTROLPLANE_NODE_ID"] = "node-env",
            ["CONTROLPLANE_NODE_TOKEN"] = "env-token",
        };

        Assert.True(AgentOptions.TryParse(["--server", "http://arg", "--node-id", "node-arg"], environment.GetValueOrDefault, out var options, out _));

        Assert.Equal("http://arg/", options.Server.AbsoluteUri);
        Assert.Equal("node-arg", options.NodeId);
        Assert.Equal("env-token", options.Token);
    }

    [Theory]
    [InlineData("--bogus", "unknown argument '--bogus'")]
    [InlineData("--server", "--server needs a value")]
    public void TryParse_BadArgument_ReturnsError(string arg, string expected)
    {
        Assert.False(AgentOptions.TryParse(["--node-id", "n", "--token", "t", arg], NoEnvironment, out _, out var error));

        Assert.Equal(expected, error);
    }

    [Fact]
    public void TryParse_ValueLooksLikeAnOption_ReturnsError()
    {
        Assert.False(AgentOptions.TryParse(["--server", "--node-id", "n", "--token", "t"], NoEnvironment, out _, out var error));

        Assert.Equal("--server needs a value", error);
    }

    [Theory]
    [InlineData("ftp://cp")]
    [InlineData("cp:5000/x")]
    [InlineData("/relative")]
    public void TryParse_ServerNotHttp_ReturnsError(string server)
    {
        Assert.False(AgentOptions.TryParse(["--server", server, "--node-id", "n", "--token", "t"], NoEnvironment, out _, out var error));

        Assert.Equal($"--server must be an absolute http or https URL, got '{server}'", error);
    }

    [Fact]
    public void TryParse_TokenWithSpace_ReturnsError()
    {
        Assert.False(AgentOptions.TryParse(["--server", "http://cp", "--node-id", "n", "--token", "two words"], NoEnvironment, out _, out var error));

        Assert.Equal("--token must not contain spaces or control characters", error);
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("--help")]
    public void IsHelpRequested_HelpFlag_IsTrue(string flag) => Assert.True(AgentOptions.IsHelpRequested(["--server", "x", flag]));
}
