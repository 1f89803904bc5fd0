using System.Globalization;
using ControlPlane.Server.Tests.Commits;
using ControlPlane.Server.Tests.Hosting;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Ui;

/// <summary>
/// The server the console and portal tests drive: two nodes kept ready by a heartbeat loop, and two customers, each
/// with a contract whose term started ten days ago; <see cref="Acme"/> has usage today and yesterday.
/// </summary>
public sealed class WebUiServerFixture : IAsyncLifetime
{
    public const string CollectionName = "Console and portal server";

    private readonly CancellationTokenSource _stop = new();
    private ServerProcess? _server;
    private Task _heartbeats = Task.CompletedTask;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("Not started.");

    public string[] NodeIds { get; } = ["ui-gpu-a1", "ui-gpu-b1"];

    public (string CustomerId, string ContractId, string Token) Acme { get; private set; }

    public (string CustomerId, string ContractId, string Token) Other { get; private set; }

    public async ValueTask InitializeAsync()
    {
        _server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["Billing:AutoCloseQuarters"] = "false",
            ["Console:CapacitySampleSeconds"] = "1",
        });
        using var admin = _server.CreateOperatorClient();
        var nodes = new List<(string NodeId, HttpClient Client)>();
        foreach (var (nodeId, region) in NodeIds.Zip(["eu-west", "us-east"]))
        {
            var (id, token) = await admin.EnrollAsync(nodeId, region);
            nodes.Add((id, _server.CreateClient(token)));
        }

        _heartbeats = HeartbeatAsync(nodes, _stop.Token);

        var start = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-10).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        Acme = await ContractAsync(admin, "ui-acme", start);
        Other = await ContractAsync(admin, "ui-other", start);

        // Acme's dedicated deployment carries SLO terms (nothing is placed: it asks for no replica).
        await LiquidCapacityTestsCreateAsync(admin);
        using (var slo = await admin.PutAsync(
            $"/admin/v1/contracts/{Acme.ContractId}/slos/{AcmeDeploymentId}",
            new StringContent("""{"period":"monthly","targetPercent":99.9,"credits":[{"belowPercent":99.9,"creditPercent":10}]}""", System.Text.Encoding.UTF8, "application/json")))
        {
            slo.EnsureSuccessStatusCode();
        }

        await admin.SetPriceAsync("ui-model-70b", 2m, 6m);
        using var gateway = _server.CreateClient(await admin.IssueTokenAsync("gateway", "ui-gateway"));
        var now = DateTimeOffset.UtcNow;
        await gateway.SendUsageAsync(
            "ui-batch-1",
            Event("ui-e1", Acme.CustomerId, "ui-model-70b", 1_000_000, 500_000, now.AddMinutes(-5)),
            Event("ui-e2", Acme.CustomerId, "ui-model-70b", 2_000_000, 1_000_000, now.AddDays(-1)));
    }

    /// <summary>Acme's dedicated deployment, with SLO terms on its contract.</summary>
    public const string AcmeDeploymentId = "ui-acme-chat";

    private static Task LiquidCapacityTestsCreateAsync(HttpClient admin) =>
        ControlPlane.Server.Tests.Deployments.LiquidCapacityTests.CreateAsync(admin, new
        {
            deploymentId = AcmeDeploymentId, model = "ui-model-70b", @class = "dedicated", customerId = "ui-acme", gpusPerReplica = 1,
            minGpuMemoryGiB = 80, minReplicas = 0, reservedReplicas = 0, maxReplicas = 1, tokensPerSecondPerReplica = 100,
        });

    private async Task<(string, string, string)> ContractAsync(HttpClient admin, string customerId, string start)
    {
        var contractId = customerId + "-2026";
        await admin.CreateContractAsync(Contract(contractId, customerId, start, 4, "100.00", 20m));
        return (customerId, contractId, await admin.IssueTokenAsync("customer", customerId));
    }

    private static async Task HeartbeatAsync(List<(string NodeId, HttpClient Client)> nodes, CancellationToken ct)
    {
        for (var sequence = 1L; !ct.IsCancellationRequested; sequence++)
        {
            foreach (var (nodeId, client) in nodes)
            {
                try
                {
                    using var response = await client.HeartbeatAsync(nodeId, sequence, ApiClient.Gpus(4));
                }
                catch (HttpRequestException)
                {
                    // The server is stopping with the fixture.
                }
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _heartbeats;
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _stop.Dispose();
    }
}

[CollectionDefinition(WebUiServerFixture.CollectionName)]
public sealed class WebUiServerCollection : ICollectionFixture<WebUiServerFixture>;
