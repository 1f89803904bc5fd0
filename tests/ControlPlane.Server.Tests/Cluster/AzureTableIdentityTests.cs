using Azure;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Identity;
using ControlPlane.Server.Hosting;
using ControlPlane.Server.Options;
using ControlPlane.Server.Tests.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Clustering.AzureStorage;

namespace ControlPlane.Server.Tests.Cluster;

/// <summary>One Azurite on HTTPS that takes Entra ID bearer tokens (<c>--oauth basic</c>), with the certificate it serves.</summary>
public sealed class OAuthAzuriteFixture : IAsyncLifetime
{
    public TestCertificate Certificate { get; } = TestCertificate.Create();

    public AzuriteServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await AzuriteServer.StartWithOAuthAsync(Certificate);

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        Certificate.Dispose();
    }

    /// <summary>Client options of an in-process client that trusts this Azurite's certificate, and only it.</summary>
    public TableClientOptions TrustingOptions() => new()
    {
        Transport = new HttpClientTransport(new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => Certificate.IsThis(presented),
        }),
    };
}

/// <summary>Azure Table clustering with an Entra ID identity (workload, managed or default) instead of an account key.</summary>
public sealed class AzureTableIdentityTests(OAuthAzuriteFixture azurite) : IClassFixture<OAuthAzuriteFixture>
{
    private const string Endpoint = "https://controlplane.table.core.windows.net";
    private const string OperatorToken = "azure-identity-operator-token";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(null, null, null, "Clustering:ConnectionString, or Clustering:AzureTableEndpoint with Clustering:AzureCredential, is required")]
    [InlineData("UseDevelopmentStorage=true", Endpoint, "workload", "Clustering:ConnectionString and Clustering:AzureTableEndpoint are both set")]
    [InlineData(null, Endpoint, null, "Clustering:AzureCredential must be 'workload', 'managed' or 'default'")]
    [InlineData(null, Endpoint, "password", "Clustering:AzureCredential must be 'workload', 'managed' or 'default'")]
    [InlineData(null, "http://controlplane.table.core.windows.net", "workload", "Clustering:AzureTableEndpoint must be an https URL")]
    [InlineData(null, "controlplane.table.core.windows.net", "workload", "Clustering:AzureTableEndpoint must be an https URL")]
    [InlineData("UseDevelopmentStorage=true", null, "workload", "Clustering:AzureCredential needs Clustering:AzureTableEndpoint")]
    public void Validate_ConnectionStringEndpointCredential_RefusesAllButOneWay(string? connectionString, string? endpoint, string? credential, string expected)
    {
        var options = new ClusteringOptions
        {
            Provider = ClusteringProviders.AzureTable,
            ConnectionString = connectionString,
            AzureTableEndpoint = endpoint,
            AzureCredential = credential,
        };

        var result = Validator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("UseDevelopmentStorage=true", null, null)]
    [InlineData(null, Endpoint, "workload")]
    [InlineData(null, Endpoint + "/", "Managed")]
    [InlineData(null, Endpoint, "default")]
    public void Validate_ConnectionStringOrEndpointWithCredential_Accepted(string? connectionString, string? endpoint, string? credential)
    {
        var options = new ClusteringOptions
        {
            Provider = ClusteringProviders.AzureTable,
            ConnectionString = connectionString,
            AzureTableEndpoint = endpoint,
            AzureCredential = credential,
        };

        Assert.True(Validator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData("workload", typeof(WorkloadIdentityCredential))]
    [InlineData("managed", typeof(ManagedIdentityCredential))]
    [InlineData("default", typeof(DefaultAzureCredential))]
    public void Credential_Named_IsThatIdentity(string name, Type expected)
    {
        var credential = AzureTableClients.Credential(new ClusteringOptions { AzureTableEndpoint = Endpoint, AzureCredential = name, AzureClientId = "client-id" });

        Assert.IsType(expected, credential);
    }

    [Fact]
    public void Silo_EndpointAndWorkloadIdentity_OrleansClusteringGetsAClientOfThatEndpoint()
    {
        var settings = ControlPlaneSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Clustering:Provider"] = "azuretable",
            ["Clustering:AzureTableEndpoint"] = Endpoint,
            ["Clustering:AzureCredential"] = "workload",
            ["Auth:BootstrapToken"] = OperatorToken,
        }).Build());
        var builder = Host.CreateApplicationBuilder();
        builder.AddControlPlaneSilo(settings);
        using var host = builder.Build();

        var clustering = host.Services.GetRequiredService<IOptions<AzureStorageClusteringOptions>>().Value;

        Assert.NotNull(clustering.TableServiceClient);
        Assert.Equal(new Uri(Endpoint), clustering.TableServiceClient.Uri);
        Assert.Equal("controlplane", clustering.TableServiceClient.AccountName);
    }

    [Fact]
    public async Task TableClient_BearerTokenOverHttps_WritesAndReadsAzurite_WrongAudienceRefused()
    {
        var clustering = new ClusteringOptions { AzureTableEndpoint = azurite.Server.TableEndpoint.ToString(), AzureCredential = "workload" };
        var credential = new FixedTokenCredential(EntraTokens.ForStorage());
        var service = AzureTableClients.Create(clustering, azurite.TrustingOptions(), credential);
        var table = service.GetTableClient($"identity{Guid.NewGuid():N}");

        await table.CreateIfNotExistsAsync(Ct);
        await table.UpsertEntityAsync(new TableEntity("cluster", "silo-1") { ["Status"] = "Active" }, cancellationToken: Ct);
        var entity = await table.GetEntityAsync<TableEntity>("cluster", "silo-1", cancellationToken: Ct);

        Assert.Equal("Active", entity.Value.GetString("Status"));
        Assert.Contains("https://storage.azure.com/.default", credential.Scopes);

        // Azurite checks the token: one for another resource is refused.
        var stranger = AzureTableClients.Create(clustering, azurite.TrustingOptions(), new FixedTokenCredential(EntraTokens.ForStorage("https://vault.azure.net")));
        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => stranger.GetTableClient(table.Name).GetEntityAsync<TableEntity>("cluster", "silo-1", cancellationToken: Ct));
        Assert.Equal(403, refused.Status);
    }

    [Fact]
    public async Task Server_ManagedIdentityWithoutAKey_JoinsItsClusterInAzurite()
    {
        await using var identity = ManagedIdentityEndpoint.Start();
        var clusterId = "identity-" + Guid.NewGuid().ToString("N")[..8];
        var settings = new Dictionary<string, string>(identity.Environment)
        {
            ["Clustering:Provider"] = "azuretable",
            ["Clustering:AzureTableEndpoint"] = azurite.Server.TableEndpoint.ToString(),
            ["Clustering:AzureCredential"] = "managed",
            ["Clustering:ClusterId"] = clusterId,
            ["Clustering:AdvertisedIPAddress"] = "127.0.0.1",
            ["Auth:BootstrapToken"] = OperatorToken,
            // The child trusts Azurite's certificate (and nothing else: it reaches no other TLS server).
            ["SSL_CERT_FILE"] = azurite.Certificate.CertificatePath,
        };

        await using var server = await ServerProcess.StartAsync(settings, ct: Ct);

        Assert.True(identity.TokensIssued > 0, "the server asked the managed identity endpoint for no token");
        var membership = AzureTableClients.Create(
            new ClusteringOptions { AzureTableEndpoint = azurite.Server.TableEndpoint.ToString(), AzureCredential = "managed" },
            azurite.TrustingOptions(),
            new FixedTokenCredential(EntraTokens.ForStorage())).GetTableClient("OrleansSiloInstances");
        var rows = await Poll.UntilAsync(
            async () => await membership.QueryAsync<TableEntity>(e => e.PartitionKey == clusterId, cancellationToken: Ct).ToListAsync(Ct),
            r => r.Any(e => e.GetString("Status") == "Active"),
            TimeSpan.FromSeconds(30),
            "the silo's Active row in the membership table");
        Assert.Contains(rows, e => e.GetString("Address") == "127.0.0.1");
    }

    [Fact]
    public async Task Server_WorkloadIdentityNotSetUp_ExitsNamingTheEndpointAndIdentity()
    {
        // No AZURE_CLIENT_ID, AZURE_TENANT_ID or AZURE_FEDERATED_TOKEN_FILE: the webhook did not run (no pod label, say).
        await using var server = await ServerProcess.StartAsync(
            new Dictionary<string, string>
            {
                ["Clustering:Provider"] = "azuretable",
                ["Clustering:AzureTableEndpoint"] = azurite.Server.TableEndpoint.ToString(),
                ["Clustering:AzureCredential"] = "workload",
                ["Auth:BootstrapToken"] = OperatorToken,
                ["SSL_CERT_FILE"] = azurite.Certificate.CertificatePath,
            },
            waitUntilReady: false,
            ct: Ct);

        Assert.Equal(1, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"Cannot reach Azure Table storage for clustering ({azurite.Server.TableEndpoint} with the workload identity)", server.Output);
        Assert.Contains("WorkloadIdentityCredential", server.Output);
        Assert.DoesNotContain("   at ", server.Output);
    }

    [Fact]
    public async Task Server_EndpointAndConnectionStringBoth_ExitsWithOneClearLine()
    {
        await using var server = await ServerProcess.StartAsync(
            new Dictionary<string, string>
            {
                ["Clustering:Provider"] = "azuretable",
                ["Clustering:ConnectionString"] = "UseDevelopmentStorage=true",
                ["Clustering:AzureTableEndpoint"] = Endpoint,
                ["Clustering:AzureCredential"] = "workload",
                ["Auth:BootstrapToken"] = OperatorToken,
            },
            waitUntilReady: false,
            ct: Ct);

        Assert.Equal(1, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Clustering:ConnectionString and Clustering:AzureTableEndpoint are both set", server.Output);
        Assert.DoesNotContain("   at ", server.Output);
    }

    private static ClusteringOptionsValidator Validator() =>
        new(Microsoft.Extensions.Options.Options.Create(new AuthOptions { BootstrapToken = OperatorToken }));
}
