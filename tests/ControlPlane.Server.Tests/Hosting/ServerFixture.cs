using ControlPlane.Server.Tests.Commits;

namespace ControlPlane.Server.Tests.Hosting;

/// <summary>
/// One embedded server process for a test collection, started with <paramref name="settings"/>, and a gateway
/// token issued the way an operator issues one (what the inference gateway sends usage and demand with).
/// </summary>
public abstract class ServerFixture(IReadOnlyDictionary<string, string> settings) : IAsyncLifetime
{
    private ServerProcess? _server;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("Not started.");

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
