namespace ControlPlane.Server.Tests.Hosting;

public sealed class StartupTests
{
    [Theory]
    [InlineData("Storage:Provider", "sqlite", "Storage:Provider must be 'memory' or 'postgres'")]
    [InlineData("Fleet:HeartbeatIntervalSeconds", "five", "Invalid configuration in section 'Fleet'")]
    [InlineData("Fleet:DownAfterMissedHeartbeats", "1", "Fleet:DownAfterMissedHeartbeats must be greater")]
    [InlineData("Clustering:Provider", "azuretable", "Clustering:ConnectionString, or Clustering:AzureTableEndpoint with Clustering:AzureCredential, is required")]
    [InlineData("Tracing:OtlpEndpoint", "otel-collector:4317", "Tracing:OtlpEndpoint must be an absolute http or https URL")]
    [InlineData("Tracing:OtlpProtocol", "http/json", "Tracing:OtlpProtocol must be 'grpc' or 'http/protobuf'")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "collector", "OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http or https URL")]
    [InlineData("Hosting:ShutdownTimeoutSeconds", "0", "Hosting:ShutdownTimeoutSeconds must be from 1 to 3600")]
    [InlineData("Hosting:ManagementPort", "70000", "Hosting:ManagementPort must be 0")]
    [InlineData("Auth:BootstrapToken", "cp1.my-operator-token-0123", "Auth:BootstrapToken must not start with 'cp1.'")]
    [InlineData("RateLimiting:Gateway:PerSecond", "0", "RateLimiting:Gateway:PerSecond must be between")]
    [InlineData("RateLimiting:Customer:Burst", "many", "Invalid configuration in section 'RateLimiting'")]
    public async Task Start_InvalidSetting_ExitsWithOneClearLine(string key, string value, string expected)
    {
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string> { [key] = value }, waitUntilReady: false);

        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, exitCode);
        Assert.Contains(expected, server.Output);
        Assert.DoesNotContain("   at ", server.Output);
    }

    [Fact]
    public async Task Start_KeptOperatorTokenShapedLikeASignedToken_ExitsWithClearMessage()
    {
        var data = Directory.CreateTempSubdirectory("controlplane-data-").FullName;
        await File.WriteAllTextAsync(Path.Combine(data, "operator-token"), "cp1.an-edited-operator-token\n");
        await using var server = await ServerProcess.StartAsync(waitUntilReady: false, dataDirectory: data);

        Assert.Equal(1, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("starts with 'cp1.', as signed tokens do", server.Output);
        Assert.DoesNotContain("   at ", server.Output);
    }

    [Fact]
    public async Task Start_PostgresWithoutConnectionString_ExitsWithClearMessage()
    {
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["Storage:Provider"] = "postgres" }, waitUntilReady: false);

        Assert.Equal(1, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Storage:ConnectionString is required", server.Output);
    }

    [Fact]
    public async Task Start_UnreachablePostgres_ExitsWithClearMessage()
    {
        var port = ControlPlane.Testing.FreePort.Next();
        await using var server = await ServerProcess.StartAsync(
            new Dictionary<string, string>
            {
                ["Storage:Provider"] = "postgres",
                ["Storage:ConnectionString"] = $"Host=127.0.0.1;Port={port};Database=nothing;Username=postgres;Timeout=3",
            },
            waitUntilReady: false);

        Assert.Equal(1, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Cannot migrate the PostgreSQL database (host 127.0.0.1:" + port, server.Output);
        Assert.DoesNotContain("   at ", server.Output);
    }

    [Fact]
    public async Task Start_MalformedPostgresConnectionString_ExitsWithClearMessage()
    {
        await using var server = await ServerProcess.StartAsync(
            new Dictionary<string, string> { ["Storage:Provider"] = "postgres", ["Storage:ConnectionString"] = "Host=x;Porty=5432" },
            waitUntilReady: false);

        Assert.Equal(1, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Storage:ConnectionString is not a valid PostgreSQL connection string", server.Output);
    }

    [Fact]
    public async Task Start_HttpPortTaken_ExitsWithClearMessage()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

        await using var server = await ServerProcess.StartAsync(
            new Dictionary<string, string> { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}" },
            waitUntilReady: false);

        Assert.Equal(1, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"Port {port} of http://127.0.0.1:{port} is already in use", server.Output);
        Assert.DoesNotContain("   at ", server.Output);
    }

    [Fact]
    public async Task Start_BothSiloPortsTaken_OneMessageNamesBothWithTheFlagsToChoose()
    {
        // Another silo on this machine holds Orleans' two ports: one attempt must say both, not one per attempt.
        using var silo = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Any, 0);
        using var gateway = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Any, 0);
        silo.Start();
        gateway.Start();
        var siloPort = ((System.Net.IPEndPoint)silo.LocalEndpoint).Port;
        var gatewayPort = ((System.Net.IPEndPoint)gateway.LocalEndpoint).Port;

        await using var server = await ServerProcess.StartAsync(
            new Dictionary<string, string> { ["Clustering:SiloPort"] = $"{siloPort}", ["Clustering:GatewayPort"] = $"{gatewayPort}" },
            waitUntilReady: false);

        Assert.Equal(1, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"Ports {siloPort} (Clustering:SiloPort) and {gatewayPort} (Clustering:GatewayPort) are already in use", server.Output);
        Assert.Contains($"--Clustering:SiloPort {siloPort + 1} --Clustering:GatewayPort {gatewayPort + 1}", server.Output);
        Assert.DoesNotContain("   at ", server.Output);
    }
}
