using System.Net;
using ControlPlane.Server.Tests.Storage;
using ControlPlane.Testing;
using Npgsql;
using Xunit;

namespace ControlPlane.Server.Tests.Hosting;

/// <summary>Health and metrics on their own port, and readiness that survives a database blip.</summary>
public sealed class ManagementPortTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ManagementPort_Set_ServesHealthAndMetricsThereAndNothingElse()
    {
        var managementPort = FreePort.Next();
        await using var server = await ServerProcess.StartAsync(
            new Dictionary<string, string> { ["Hosting:ManagementPort"] = managementPort.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            waitUntilReady: false);
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{managementPort}") };
        using var api = server.CreateClient();

        await Poll.UntilAsync(
            async () => { try { return (await management.GetAsync("/health/ready", Ct)).StatusCode; } catch (HttpRequestException) { return HttpStatusCode.ServiceUnavailable; } },
            status => status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(90),
            "readiness on the management port");

        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync("/health/live", Ct)).StatusCode);
        Assert.Contains("controlplane_", await management.GetStringAsync("/metrics", Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await management.GetAsync("/admin/v1/nodes", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await management.GetAsync("/openapi/v1.json", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/metrics", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/health/ready", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/openapi/v1.json", Ct)).StatusCode);
    }

    [Fact]
    public async Task Readiness_DatabaseRefusesConnections_StaysReadyAndSaysDegraded()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(Readiness_DatabaseRefusesConnections_StaysReadyAndSaysDegraded), Ct);
        var name = new NpgsqlConnectionStringBuilder(db).Database!;
        var admin = postgres.Server.ConnectionString();
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["Storage:Provider"] = "postgres",
            ["Storage:ConnectionString"] = db,
            ["Auth:BootstrapToken"] = "management-port-operator-token",
        });
        using var probe = server.CreateClient();

        await Sql.ExecuteAsync(admin, $"ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';");
        try
        {
            var body = await Poll.UntilAsync(
                async () =>
                {
                    using var response = await probe.GetAsync("/health/ready", Ct);
                    return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}";
                },
                text => text.Contains("Degraded", StringComparison.Ordinal) || !text.StartsWith("200", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30),
                "readiness to notice the database");

            Assert.Equal("200 Degraded", body);
        }
        finally
        {
            await Sql.ExecuteAsync(admin, $"ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true");
        }

        await Poll.UntilAsync(
            async () => await (await probe.GetAsync("/health/ready", Ct)).Content.ReadAsStringAsync(Ct),
            text => text == "Healthy",
            TimeSpan.FromSeconds(30),
            "readiness healthy again");
    }
}
