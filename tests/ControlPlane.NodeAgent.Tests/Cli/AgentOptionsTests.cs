using ControlPlane.NodeAgent.Cli;
using ControlPlane.NodeAgent.Models;
using ControlPlane.NodeAgent.Replicas;
using ControlPlane.NodeAgent.Replicas.Kubernetes;

namespace ControlPlane.NodeAgent.Tests.Cli;

public sealed class AgentOptionsTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;
    private static readonly string[] Required = ["--server", "http://cp", "--node-id", "n", "--token", "t"];
    private static readonly SimulatedRuntimeOptions DefaultRuntime = new(TimeSpan.FromSeconds(5));

    [Fact]
    public void TryParse_AllArguments_ReturnsOptions()
    {
        string[] args = ["--server", "http://cp:5000", "--node-id", "node-a", "--token", "t0k", "--nvidia-smi", "/opt/smi", "--runtime-dir", "/run/agent", "--runtime", "simulated"];

        Assert.True(AgentOptions.TryParse(args, NoEnvironment, out var options, out var error), error);

        Assert.Equal(new AgentOptions([new Uri("http://cp:5000/")], "node-a", "t0k", "/opt/smi", "/run/agent", DefaultRuntime), options);
    }

    [Fact]
    public void TryParse_OptionalArgumentsLeftOut_AreNull()
    {
        Assert.True(AgentOptions.TryParse(["--server", "https://cp", "--node-id", "n", "--token", "t", "--runtime", "simulated"], NoEnvironment, out var options, out _));

        Assert.Null(options.NvidiaSmiPath);
        Assert.Null(options.RuntimeDirectory);
    }

    [Fact]
    public void TryParse_LivenessFile_FromArgumentOrEnvironment()
    {
        string[] required = ["--server", "https://cp", "--node-id", "n", "--token", "t", "--runtime", "simulated"];

        Assert.True(AgentOptions.TryParse([.. required, "--liveness-file", "/tmp/alive"], NoEnvironment, out var fromArgument, out _));
        Assert.True(AgentOptions.TryParse(required, v => v == AgentOptions.LivenessFileVariable ? "/run/alive" : null, out var fromEnvironment, out _));
        Assert.False(AgentOptions.TryParse([.. required, "--liveness-file", " "], NoEnvironment, out _, out var error));

        Assert.Equal("/tmp/alive", fromArgument.LivenessFile);
        Assert.Equal("/run/alive", fromEnvironment.LivenessFile);
        Assert.Contains("--liveness-file", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_EqualsForm_IsAccepted()
    {
        Assert.True(AgentOptions.TryParse(["--server=https://cp/base", "--node-id=n", "--token=a=b", "--runtime=simulated"], NoEnvironment, out var options, out _));

        Assert.Equal("https://cp/base/", Assert.Single(options.Servers).AbsoluteUri);
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

        Assert.Equal("missing --token (or CONTROLPLANE_NODE_TOKEN), or --node-token-file with --join-token", error);
    }

    [Fact]
    public void TryParse_NodeTokenFileAndJoinToken_FromArgumentsOrEnvironment()
    {
        Assert.True(AgentOptions.TryParse(["--server", "http://cp", "--node-id", "n", "--node-token-file", "/var/lib/agent/token", "--join-token", "cp1.j", "--runtime", "simulated"], NoEnvironment, out var options, out var error), error);
        Assert.Equal((null, "/var/lib/agent/token", "cp1.j"), (options.Token, options.NodeTokenFile, options.JoinToken));

        var environment = new Dictionary<string, string> { ["CONTROLPLANE_NODE_TOKEN_FILE"] = "/t", ["CONTROLPLANE_JOIN_TOKEN"] = "cp1.env" };
        Assert.True(AgentOptions.TryParse(["--server", "http://cp", "--node-id", "n", "--runtime", "simulated"], environment.GetValueOrDefault, out options, out error), error);
        Assert.Equal(("/t", "cp1.env"), (options.NodeTokenFile, options.JoinToken));
    }

    [Theory]
    [InlineData(new[] { "--join-token", "cp1.j" }, "--join-token needs --node-token-file: where the node's own token is kept")]
    [InlineData(new[] { "--token", "t", "--node-token-file", "/t" }, "give --token or --node-token-file, not both")]
    [InlineData(new[] { "--node-token-file", "/t", "--join-token", "a b" }, "--join-token must not contain spaces or control characters")]
    [InlineData(new[] { "--node-token-file", " " }, "--node-token-file must not be empty")]
    public void TryParse_TokenOptionsThatDoNotFit_ReturnError(string[] tokenArguments, string expected)
    {
        Assert.False(AgentOptions.TryParse(["--server", "http://cp", "--node-id", "n", .. tokenArguments], NoEnvironment, out _, out var error));

        Assert.Equal(expected, error);
    }

    [Fact]
    public void TryParse_EnvironmentOnly_UsesTheEnvironment()
    {
        var environment = new Dictionary<string, string>
        {
            ["CONTROLPLANE_SERVER"] = "http://cp:5000",
            ["CONTROLPLANE_NODE_ID"] = "node-env",
            ["CONTROLPLANE_NODE_TOKEN"] = "from-secret-file\n",
            ["CONTROLPLANE_RUNTIME"] = "simulated",
        };

        Assert.True(AgentOptions.TryParse([], environment.GetValueOrDefault, out var options, out var error), error);

        Assert.Equal(new AgentOptions([new Uri("http://cp:5000/")], "node-env", "from-secret-file", null, null, DefaultRuntime), options);
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

        Assert.True(AgentOptions.TryParse(["--server", "http://arg", "--node-id", "node-arg", "--runtime", "simulated"], environment.GetValueOrDefault, out var options, out _));

        Assert.Equal("http://arg/", Assert.Single(options.Servers).AbsoluteUri);
        Assert.Equal("node-arg", options.NodeId);
        Assert.Equal("env-token", options.Token);
    }

    [Theory]
    [InlineData("--server", "http://silo-a:8080,http://silo-b:8080, https://silo-c/cp")]
    [InlineData("--server", "http://silo-a:8080", "--server", "http://silo-b:8080,https://silo-c/cp")]
    [InlineData("--server", "http://silo-a:8080", "--server", "http://silo-b:8080", "--server=https://silo-c/cp", "--server", "http://silo-a:8080")]
    public void TryParse_SeveralServers_KeepsEachOnceInOrder(params string[] servers)
    {
        Assert.True(AgentOptions.TryParse([.. servers, "--node-id", "n", "--token", "t", "--runtime", "simulated"], NoEnvironment, out var options, out var error), error);

        Assert.Equal(["http://silo-a:8080/", "http://silo-b:8080/", "https://silo-c/cp/"], options.Servers.Select(s => s.AbsoluteUri));
    }

    [Fact]
    public void TryParse_SeveralServersInTheEnvironment_AreAllUsed()
    {
        var environment = new Dictionary<string, string> { ["CONTROLPLANE_SERVER"] = "http://silo-a:8080,http://silo-b:8080\n" };

        Assert.True(AgentOptions.TryParse(["--node-id", "n", "--token", "t", "--runtime", "simulated"], environment.GetValueOrDefault, out var options, out var error), error);

        Assert.Equal(["http://silo-a:8080/", "http://silo-b:8080/"], options.Servers.Select(s => s.AbsoluteUri));
    }

    [Theory]
    [InlineData("http://silo-a,ftp://silo-b", "ftp://silo-b")]
    [InlineData("http://silo-a,,http://silo-b", "")]
    public void TryParse_OneBadServerInTheList_ReturnsError(string list, string bad)
    {
        Assert.False(AgentOptions.TryParse(["--server", list, "--node-id", "n", "--token", "t", "--runtime", "simulated"], NoEnvironment, out _, out var error));

        Assert.Equal($"--server must be an absolute http or https URL, got '{bad}'", error);
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

    [Fact]
    public void TryParse_NoRuntimeOptions_RefusesToGuess()
    {
        Assert.False(AgentOptions.TryParse(Required, NoEnvironment, out var options, out var error));

        Assert.Null(options);
        Assert.StartsWith("no replica runtime: give --start-command CMD (or CONTROLPLANE_START_COMMAND)", error);
    }

    [Fact]
    public void TryParse_SimulatedRuntime_SimulatesWithTheDefaultLoadTime()
    {
        Assert.True(AgentOptions.TryParse([.. Required, "--runtime", "simulated"], NoEnvironment, out var options, out var error), error);

        Assert.Equal(DefaultRuntime, options.Runtime);
    }

    [Fact]
    public void TryParse_RuntimeFromTheEnvironment_CommandLineWins()
    {
        var environment = new Dictionary<string, string>
        {
            [AgentOptions.StartCommandVariable] = "exec vllm serve \"$CONTROLPLANE_MODEL\"\n",
            [AgentOptions.ReadyCommandVariable] = "curl -sf http://127.0.0.1:8000/health",
        };

        Assert.True(AgentOptions.TryParse(Required, environment.GetValueOrDefault, out var fromEnvironment, out var error), error);
        Assert.True(AgentOptions.TryParse([.. Required, "--ready-command", "true"], environment.GetValueOrDefault, out var overridden, out error), error);

        Assert.Equal(new CommandRuntimeOptions("exec vllm serve \"$CONTROLPLANE_MODEL\"", null, "curl -sf http://127.0.0.1:8000/health"), fromEnvironment.Runtime);
        Assert.Equal(new CommandRuntimeOptions("exec vllm serve \"$CONTROLPLANE_MODEL\"", null, "true"), overridden.Runtime);
    }

    [Theory]
    [InlineData("0", 0.0)]
    [InlineData("2.5", 2.5)]
    [InlineData("3600", 3600.0)]
    public void TryParse_LoadSeconds_SetsTheSimulatedLoadTime(string value, double seconds)
    {
        Assert.True(AgentOptions.TryParse([.. Required, "--load-seconds", value], NoEnvironment, out var options, out var error), error);

        Assert.Equal(new SimulatedRuntimeOptions(TimeSpan.FromSeconds(seconds)), options.Runtime);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("3601")]
    [InlineData("five")]
    [InlineData("NaN")]
    public void TryParse_BadLoadSeconds_ReturnsError(string value)
    {
        Assert.False(AgentOptions.TryParse([.. Required, "--runtime", "simulated", "--load-seconds", value], NoEnvironment, out _, out var error));

        Assert.Equal($"--load-seconds must be a number of seconds from 0 to 3600, got '{value}'", error);
    }

    [Fact]
    public void TryParse_StartCommand_RunsCommandsByDefault()
    {
        string[] args = [.. Required, "--start-command", "exec vllm serve \"$CONTROLPLANE_MODEL\"", "--ready-command", "curl -sf http://127.0.0.1:8000/health", "--stop-command=docker stop x"];

        Assert.True(AgentOptions.TryParse(args, NoEnvironment, out var options, out var error), error);

        Assert.Equal(
            new CommandRuntimeOptions("exec vllm serve \"$CONTROLPLANE_MODEL\"", StopCommand: "docker stop x", ReadyCommand: "curl -sf http://127.0.0.1:8000/health"),
            options.Runtime);
    }

    [Fact]
    public void TryParse_ExplicitCommandRuntime_TakesTheStartCommandAlone()
    {
        Assert.True(AgentOptions.TryParse([.. Required, "--runtime", "command", "--start-command", "sleep 1"], NoEnvironment, out var options, out var error), error);

        Assert.Equal(new CommandRuntimeOptions("sleep 1", null, null), options.Runtime);
    }

    [Theory]
    [InlineData(new[] { "--runtime", "docker" }, "--runtime must be 'simulated', 'command' or 'kubernetes', got 'docker'")]
    [InlineData(new[] { "--runtime", "command" }, "--runtime command needs --start-command")]
    [InlineData(new[] { "--start-command", "sleep 1", "--load-seconds", "1" }, "--load-seconds is only for --runtime simulated")]
    [InlineData(new[] { "--runtime", "simulated", "--start-command", "sleep 1" }, "--start-command is only for --runtime command")]
    [InlineData(new[] { "--runtime", "simulated", "--stop-command", "true" }, "--stop-command is only for --runtime command")]
    [InlineData(new[] { "--ready-command", "true" }, "--ready-command needs --start-command")]
    [InlineData(new[] { "--start-command", " " }, "--start-command must not be empty")]
    [InlineData(new[] { "--start-command", "sleep 1", "--stop-command", "" }, "--stop-command must not be empty")]
    public void TryParse_InconsistentRuntimeOptions_ReturnsError(string[] runtimeArgs, string expected)
    {
        Assert.False(AgentOptions.TryParse([.. Required, .. runtimeArgs], NoEnvironment, out var options, out var error));

        Assert.Null(options);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Usage_NamesEveryOptionAndTheReplicaVariables()
    {
        foreach (var option in new[] { "--runtime KIND", "--load-seconds N", "--start-command CMD", "--ready-command CMD", "--stop-command CMD" })
        {
            Assert.Contains(option, AgentOptions.Usage, StringComparison.Ordinal);
        }

        Assert.Contains(
            "CONTROLPLANE_REPLICA_ID, CONTROLPLANE_DEPLOYMENT_ID, CONTROLPLANE_MODEL,",
            AgentOptions.Usage,
            StringComparison.Ordinal);
        Assert.Contains("CONTROLPLANE_GPU_INDICES and CUDA_VISIBLE_DEVICES (e.g. 0,1)", AgentOptions.Usage, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_ModelCacheWithPrefetchCommand_ReturnsThem()
    {
        string[] args = [.. Required, "--start-command", "vllm serve", "--model-cache", "/var/cache/models", "--prefetch-command", "fetch.sh"];

        Assert.True(AgentOptions.TryParse(args, NoEnvironment, out var options, out var error), error);

        Assert.Equal(new ModelCacheOptions("/var/cache/models", "fetch.sh", null), options.ModelCache);
    }

    [Fact]
    public void TryParse_ModelCacheFromTheEnvironment_Simulated_TakesPrefetchSeconds()
    {
        var environment = new Dictionary<string, string> { [AgentOptions.ModelCacheVariable] = "/cache\n" };
        string[] args = [.. Required, "--runtime", "simulated", "--prefetch-seconds", "2.5"];

        Assert.True(AgentOptions.TryParse(args, v => environment.GetValueOrDefault(v), out var options, out var error), error);

        Assert.Equal(new ModelCacheOptions("/cache", null, TimeSpan.FromSeconds(2.5)), options.ModelCache);
    }

    [Fact]
    public void TryParse_SimulatedWithModelCache_PrefetchesAfterTheDefaultTime()
    {
        Assert.True(AgentOptions.TryParse([.. Required, "--runtime", "simulated", "--model-cache", "/c"], NoEnvironment, out var options, out _));

        Assert.Equal(TimeSpan.FromSeconds(SimulatedModelFetcher.DefaultSeconds), options.ModelCache?.SimulatedPrefetchTime);
    }

    [Theory]
    [InlineData("--prefetch-command needs --model-cache", "--start-command", "x", "--prefetch-command", "f")]
    [InlineData("--prefetch-seconds needs --model-cache", "--runtime", "simulated", "--prefetch-seconds", "1")]
    [InlineData("--prefetch-command is only for --runtime command", "--runtime", "simulated", "--model-cache", "/c", "--prefetch-command", "f")]
    [InlineData("--prefetch-seconds is only for --runtime simulated", "--start-command", "x", "--model-cache", "/c", "--prefetch-seconds", "1")]
    [InlineData("--prefetch-seconds must be a number", "--runtime", "simulated", "--model-cache", "/c", "--prefetch-seconds", "-1")]
    [InlineData("--model-cache must not be empty", "--runtime", "simulated", "--model-cache", " ")]
    public void TryParse_BadModelCacheOptions_SayWhatIsWrong(string expected, params string[] extra)
    {
        Assert.False(AgentOptions.TryParse([.. Required, .. extra], NoEnvironment, out _, out var error));

        Assert.StartsWith(expected, error);
    }

    [Fact]
    public void TryParse_SleepBudgetWithSleepAndWakeCommands_ReturnsThem()
    {
        string[] args = [.. Required, "--start-command", "vllm serve", "--model-cache", "/c", "--sleep-budget-gb", "1.5", "--sleep-command", "sleep.sh", "--wake-command", "wake.sh"];

        Assert.True(AgentOptions.TryParse(args, NoEnvironment, out var options, out var error), error);

        Assert.Equal(1_610_612_736, options.SleepBudgetBytes);
        var runtime = Assert.IsType<CommandRuntimeOptions>(options.Runtime);
        Assert.Equal(("sleep.sh", "wake.sh", true), (runtime.SleepCommand, runtime.WakeCommand, runtime.CanSleep));
    }

    [Fact]
    public void TryParse_SleepFromTheEnvironment_IsTaken()
    {
        var environment = new Dictionary<string, string>
        {
            [AgentOptions.SleepBudgetVariable] = "64\n",
            [AgentOptions.SleepCommandVariable] = "s",
            [AgentOptions.WakeCommandVariable] = "w",
            [AgentOptions.ModelCacheVariable] = "/c",
        };

        Assert.True(AgentOptions.TryParse([.. Required, "--start-command", "x"], v => environment.GetValueOrDefault(v), out var options, out var error), error);

        Assert.Equal(64L << 30, options.SleepBudgetBytes);
        Assert.True(Assert.IsType<CommandRuntimeOptions>(options.Runtime).CanSleep);
    }

    [Fact]
    public void TryParse_NoSleepBudget_NeverSleeps()
    {
        Assert.True(AgentOptions.TryParse([.. Required, "--start-command", "x", "--sleep-command", "s", "--wake-command", "w"], NoEnvironment, out var options, out _));
        Assert.True(AgentOptions.TryParse([.. Required, "--runtime", "simulated", "--sleep-budget-gb", "0"], NoEnvironment, out var zero, out _));

        Assert.Equal(0, options.SleepBudgetBytes);
        Assert.Equal(0, zero.SleepBudgetBytes);
    }

    [Fact]
    public void TryParse_SimulatedWakeSeconds_DefaultAndGiven()
    {
        Assert.True(AgentOptions.TryParse([.. Required, "--runtime", "simulated", "--model-cache", "/c", "--sleep-budget-gb", "8"], NoEnvironment, out var byDefault, out _));
        Assert.True(AgentOptions.TryParse([.. Required, "--runtime", "simulated", "--simulated-wake-seconds", "0.5"], NoEnvironment, out var given, out _));

        Assert.Equal(SimulatedRuntimeOptions.DefaultWakeTime, Assert.IsType<SimulatedRuntimeOptions>(byDefault.Runtime).WakeTime);
        Assert.Equal(8L << 30, byDefault.SleepBudgetBytes);
        Assert.Equal(TimeSpan.FromSeconds(0.5), Assert.IsType<SimulatedRuntimeOptions>(given.Runtime).WakeTime);
        Assert.True(SimulatedRuntimeOptions.DefaultWakeTime < SimulatedRuntimeOptions.DefaultLoadTime);
    }

    [Theory]
    [InlineData("--sleep-budget-gb needs --sleep-command and --wake-command", "--start-command", "x", "--model-cache", "/c", "--sleep-budget-gb", "1")]
    [InlineData("--sleep-budget-gb needs --model-cache", "--start-command", "x", "--sleep-command", "s", "--wake-command", "w", "--sleep-budget-gb", "1")]
    [InlineData("--sleep-budget-gb needs --model-cache", "--runtime", "simulated", "--sleep-budget-gb", "1")]
    [InlineData("--sleep-budget-gb must be a number of GiB", "--runtime", "simulated", "--sleep-budget-gb", "-1")]
    [InlineData("--sleep-budget-gb must be a number of GiB", "--runtime", "simulated", "--sleep-budget-gb", "1e3")]
    [InlineData("--sleep-budget-gb must be a number of GiB", "--runtime", "simulated", "--sleep-budget-gb", "65537")]
    [InlineData("--sleep-command needs --wake-command", "--start-command", "x", "--sleep-command", "s")]
    [InlineData("--wake-command needs --sleep-command", "--start-command", "x", "--wake-command", "w")]
    [InlineData("--sleep-command is only for --runtime command", "--runtime", "simulated", "--sleep-command", "s")]
    [InlineData("--simulated-wake-seconds is only for --runtime simulated", "--start-command", "x", "--simulated-wake-seconds", "1")]
    [InlineData("--simulated-wake-seconds must be a number", "--runtime", "simulated", "--simulated-wake-seconds", "x")]
    [InlineData("--wake-command must not be empty", "--start-command", "x", "--sleep-command", "s", "--wake-command", " ")]
    public void TryParse_BadSleepOptions_SayWhatIsWrong(string expected, params string[] extra)
    {
        Assert.False(AgentOptions.TryParse([.. Required, .. extra], NoEnvironment, out _, out var error));

        Assert.StartsWith(expected, error);
    }

    [Fact]
    public void Usage_NamesTheSleepOptions()
    {
        Assert.Contains("--sleep-budget-gb N", AgentOptions.Usage, StringComparison.Ordinal);
        Assert.Contains("--sleep-command CMD", AgentOptions.Usage, StringComparison.Ordinal);
        Assert.Contains("--wake-command CMD", AgentOptions.Usage, StringComparison.Ordinal);
        Assert.Contains("--simulated-wake-seconds N", AgentOptions.Usage, StringComparison.Ordinal);
        Assert.Contains(CommandReplicaRuntime.WakeReplicaIdVariable, AgentOptions.Usage, StringComparison.Ordinal);
    }

    [Fact]
    public void Usage_NamesTheModelCacheOptionsAndTheMarker()
    {
        Assert.Contains("--model-cache DIR", AgentOptions.Usage, StringComparison.Ordinal);
        Assert.Contains("--prefetch-command CMD", AgentOptions.Usage, StringComparison.Ordinal);
        Assert.Contains(ModelCacheDirectory.CompleteMarker, AgentOptions.Usage, StringComparison.Ordinal);
        Assert.Contains(CommandReplicaRuntime.SharedPriorityVariable, AgentOptions.Usage, StringComparison.Ordinal);
    }

    private static readonly string[] Kubernetes = [.. Required, "--runtime", "kubernetes", "--pod-name", "agent-x7k2p", "--pod-uid", "6f1c2f0e-7b7a-4c1e-9d55-0d7b1f0c9a11"];

    [Fact]
    public void TryParse_KubernetesInAPod_DefaultsFromTheServiceAccountAndTheClusterEnvironment()
    {
        Func<string, string?> environment = v => v switch
        {
            AgentOptions.KubernetesServiceHostVariable => "10.96.0.1",
            AgentOptions.KubernetesServicePortVariable => "443",
            _ => null,
        };

        Assert.True(AgentOptions.TryParse(Kubernetes, environment, out var options, out var error), error);

        var runtime = Assert.IsType<KubernetesRuntimeOptions>(options.Runtime);
        Assert.Equal(
            new KubernetesRuntimeOptions(
                new Uri("https://10.96.0.1:443/"),
                "/var/run/secrets/kubernetes.io/serviceaccount/token",
                "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
                "/var/run/secrets/kubernetes.io/serviceaccount/namespace",
                "agent-x7k2p",
                "6f1c2f0e-7b7a-4c1e-9d55-0d7b1f0c9a11",
                "n"),
            runtime);
        Assert.False(runtime.CanSleep);
        Assert.Equal(8000, runtime.EnginePort);
        Assert.Equal("/health", runtime.ReadyPath);
    }

    [Fact]
    public void TryParse_KubernetesEveryFlag_IsKept()
    {
        string[] args =
        [
            .. Kubernetes, "--kube-api", "http://127.0.0.1:6443", "--kube-token-file", "/t", "--kube-ca-file", "/ca", "--kube-namespace", "gpu",
            "--kube-node", "gpu-node-17", "--engine-image", "vllm/vllm-openai:v0.11.0", "--engine-port", "8100", "--engine-ready-path", "/v1/models",
            "--engine-sleep-path", "/sleep?level=1", "--engine-wake-path", "/wake_up", "--pod-template", "/etc/t.json", "--start-command", "exec vllm serve",
        ];

        Assert.True(AgentOptions.TryParse(args, NoEnvironment, out var options, out var error), error);

        Assert.Equal(
            new KubernetesRuntimeOptions(new Uri("http://127.0.0.1:6443/"), "/t", "/ca", "/var/run/secrets/kubernetes.io/serviceaccount/namespace", "agent-x7k2p", "6f1c2f0e-7b7a-4c1e-9d55-0d7b1f0c9a11", "gpu-node-17")
            {
                Namespace = "gpu",
                DefaultImage = "vllm/vllm-openai:v0.11.0",
                EnginePort = 8100,
                ReadyPath = "/v1/models",
                SleepPath = "/sleep?level=1",
                WakePath = "/wake_up",
                PodTemplateFile = "/etc/t.json",
                StartCommand = "exec vllm serve",
            },
            options.Runtime);
    }

    [Fact]
    public void TryParse_KubernetesFromTheEnvironment_AsTheChartSetsIt()
    {
        Func<string, string?> environment = v => v switch
        {
            AgentOptions.RuntimeVariable => "kubernetes",
            AgentOptions.PodNameVariable => "agent-x7k2p",
            AgentOptions.PodUidVariable => "6f1c2f0e-7b7a-4c1e-9d55-0d7b1f0c9a11",
            AgentOptions.KubeApiVariable => "https://kubernetes.default.svc",
            AgentOptions.PodTemplateVariable => "/etc/controlplane/pod-template.json",
            _ => null,
        };

        Assert.True(AgentOptions.TryParse(Required, environment, out var options, out var error), error);

        var runtime = Assert.IsType<KubernetesRuntimeOptions>(options.Runtime);
        Assert.Equal("https://kubernetes.default.svc/", runtime.ApiServer.AbsoluteUri);
        Assert.Equal("/etc/controlplane/pod-template.json", runtime.PodTemplateFile);
    }

    [Theory]
    [InlineData("--runtime kubernetes needs --pod-name and --pod-uid", "--runtime", "kubernetes", "--kube-api", "http://k")]
    [InlineData("--runtime kubernetes needs --kube-api URL outside a pod", "--runtime", "kubernetes", "--pod-name", "a", "--pod-uid", "u")]
    [InlineData("--pod-name must be a Kubernetes object name", "--runtime", "kubernetes", "--pod-name", "Agent_1", "--pod-uid", "u", "--kube-api", "http://k")]
    [InlineData("--kube-node must be a Kubernetes node name", "--runtime", "kubernetes", "--pod-name", "a", "--pod-uid", "u", "--kube-api", "http://k", "--kube-node", "Node A")]
    [InlineData("--kube-api must be an absolute http or https URL", "--runtime", "kubernetes", "--pod-name", "a", "--pod-uid", "u", "--kube-api", "ftp://k")]
    [InlineData("--engine-image must be an image reference", "--runtime", "kubernetes", "--pod-name", "a", "--pod-uid", "u", "--kube-api", "http://k", "--engine-image", "a b")]
    [InlineData("--engine-port must be a port from 1 to 65472", "--runtime", "kubernetes", "--pod-name", "a", "--pod-uid", "u", "--kube-api", "http://k", "--engine-port", "0")]
    [InlineData("--engine-port must be a port from 1 to 65472", "--runtime", "kubernetes", "--pod-name", "a", "--pod-uid", "u", "--kube-api", "http://k", "--engine-port", "65473")]
    [InlineData("--engine-ready-path must be an absolute path", "--runtime", "kubernetes", "--pod-name", "a", "--pod-uid", "u", "--kube-api", "http://k", "--engine-ready-path", "health")]
    [InlineData("--engine-sleep-path needs --engine-wake-path", "--runtime", "kubernetes", "--pod-name", "a", "--pod-uid", "u", "--kube-api", "http://k", "--engine-sleep-path", "/sleep")]
    [InlineData("--runtime kubernetes does not take --ready-command", "--runtime", "kubernetes", "--pod-name", "a", "--pod-uid", "u", "--kube-api", "http://k", "--ready-command", "true")]
    [InlineData("--runtime kubernetes does not take --sleep-command", "--runtime", "kubernetes", "--pod-name", "a", "--pod-uid", "u", "--kube-api", "http://k", "--sleep-command", "s", "--wake-command", "w")]
    [InlineData("--pod-name is only for --runtime kubernetes", "--start-command", "x", "--pod-name", "a")]
    [InlineData("--engine-image is only for --runtime kubernetes", "--runtime", "simulated", "--engine-image", "a")]
    [InlineData("--sleep-budget-gb needs --engine-sleep-path and --engine-wake-path", "--runtime", "kubernetes", "--pod-name", "a", "--pod-uid", "u", "--kube-api", "http://k", "--sleep-budget-gb", "10", "--model-cache", "/m")]
    public void TryParse_BadKubernetesOptions_SayWhatIsWrong(string expected, params string[] extra)
    {
        Assert.False(AgentOptions.TryParse([.. Required, .. extra], NoEnvironment, out _, out var error));

        Assert.StartsWith(expected, error);
    }

    [Fact]
    public void Usage_NamesTheKubernetesOptions()
    {
        foreach (var option in new[] { "--runtime simulated|command|kubernetes", "--pod-name NAME", "--pod-uid UID", "--kube-api URL", "--kube-token-file PATH", "--kube-ca-file PATH", "--engine-image IMAGE", "--pod-template FILE", "--engine-sleep-path PATH" })
        {
            Assert.Contains(option, AgentOptions.Usage, StringComparison.Ordinal);
        }
    }
}
