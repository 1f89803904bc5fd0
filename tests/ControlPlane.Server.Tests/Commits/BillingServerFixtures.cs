using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Commits;

/// <summary>
/// One embedded server for the collection, configured for billing tests, with a gateway token issued
/// the way an operator would issue it.
/// </summary>
public abstract class BillingServerFixture(IReadOnlyDictionary<string, string> settings) : IAsyncLifetime
{
    private ServerProcess? _server;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("Not started.");

    /// <summary>A gateway token: what the inference gateway sends usage with.</summary>
    public string GatewayToken { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        _server = await ServerProcess.StartAsync(settings);
        using var admin = _server.CreateOperatorClient();
        GatewayToken = await admin.IssueTokenAsync("gateway", "test-gateway");
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>Quarters close only when an operator closes them (invoice approval): tests drive every close.</summary>
public sealed class ManualCloseServerFixture() : BillingServerFixture(new Dictionary<string, string>
{
    ["Billing:AutoCloseQuarters"] = "false",
})
{
    public const string CollectionName = "Billing server, manual quarter close";
}

/// <summary>
/// Quarters close by the durable reminder, checked every 5 seconds, with no grace for late events. The
/// first check comes 5 s after a contract is created: time enough for a test to send its on-time usage first.
/// </summary>
public sealed class AutoCloseServerFixture() : BillingServerFixture(new Dictionary<string, string>
{
    ["Billing:AutoCloseQuarters"] = "true",
    ["Billing:LateUsageGraceDays"] = "0",
    ["Billing:AutoCloseCheckSeconds"] = "5",
})
{
    public const string CollectionName = "Billing server, automatic quarter close";
}

[CollectionDefinition(ManualCloseServerFixture.CollectionName)]
public sealed class ManualCloseServerCollection : ICollectionFixture<ManualCloseServerFixture>;

[CollectionDefinition(AutoCloseServerFixture.CollectionName)]
public sealed class AutoCloseServerCollection : ICollectionFixture<AutoCloseServerFixture>;
