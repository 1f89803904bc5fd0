using System.Globalization;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using ControlPlane.Server.Tests.Deployments;
using ControlPlane.Server.Tests.Storage;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Server.Tests.Hosting;

/// <summary>The metrics the alerting rules read, from a real server on PostgreSQL that meets the faults they watch for.</summary>
public sealed partial class OperationalMetricsTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metrics_BadTokensStorageErrorsUnservedReplicas_AreExportedForEveryAlert()
    {
        var db = await postgres.CreateDatabaseAsync(nameof(Metrics_BadTokensStorageErrorsUnservedReplicas_AreExportedForEveryAlert), Ct);
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["Storage:Provider"] = "postgres",
            ["Storage:ConnectionString"] = db,
            ["Auth:BootstrapToken"] = "operational-metrics-operator-token",
            ["Fleet:WatchdogPeriodSeconds"] = "2",
        });
        using var admin = server.CreateOperatorClient();
        using var scraper = server.CreateClient();
        var (nodeId, token) = await admin.EnrollAsync("metrics-a");
        var (otherId, _) = await admin.EnrollAsync("metrics-b");
        using var node = server.CreateClient(token);
        await node.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(8));
        await LiquidCapacityTests.CreateAsync(admin, LiquidCapacityTests.Dedicated("metrics-ded", "metrics-nowhere", gpus: 1, reserved: 0, max: 2, min: 1));

        // Refused before the endpoint: no token, a token that is not one, and another node's token.
        var rejectedBefore = Counter(await scraper.GetStringAsync("/metrics", Ct), "controlplane_heartbeats_received_total", "result=\"rejected\"");
        using (var anonymous = server.CreateClient())
        {
            await anonymous.HeartbeatAsync(nodeId, 2, ApiClient.Gpus(8));
        }

        using (var forged = server.CreateClient("cp1.forged.token"))
        {
            await forged.HeartbeatAsync(nodeId, 2, ApiClient.Gpus(8));
        }

        await node.HeartbeatAsync(otherId, 2, ApiClient.Gpus(8));

        // Storage fails under the running silo: state reads and writes of grains activated from now on.
        await Sql.ExecuteAsync(db, "ALTER TABLE OrleansGrainState RENAME TO orleansgrainstate_away");
        await node.HeartbeatAsync(nodeId, 3, ApiClient.Gpus(7));
        using (await admin.PostAsJsonAsync("/admin/v1/nodes", new { nodeId = "metrics-c", region = "eu-west", provider = "own-dc", ownership = "owned", hourlyCostUsd = 1 }, Ct))
        {
        }

        var text = await Poll.UntilAsync(
            () => scraper.GetStringAsync("/metrics", Ct),
            t => t.Contains("orleans_storage_read_errors_total", StringComparison.Ordinal)
                && t.Contains("orleans_storage_write_errors_total", StringComparison.Ordinal)
                && t.Contains("orleans_reminders_tardiness_seconds_count", StringComparison.Ordinal)
                && t.Contains("controlplane_replicas{", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30),
            "storage errors, reminder tardiness and the replica gauge in /metrics");

        Assert.Equal(rejectedBefore + 3, Counter(text, "controlplane_heartbeats_received_total", "result=\"rejected\""));
        Assert.Equal(1, Counter(text, "controlplane_replicas", "class=\"dedicated\"", "state=\"desired\""));
        Assert.Equal(0, Counter(text, "controlplane_replicas", "class=\"dedicated\"", "state=\"ready\""));
        Assert.Equal(1, Counter(text, "orleans_consistent_ring_size"));

        // Every series an alerting rule reads is one this server exports (the rules cannot watch a name that never comes).
        var rules = await File.ReadAllTextAsync(RepoPaths.Combine("deploy", "prometheus", "rules.yml"), Ct);
        var exported = MetricName().Matches(text).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
        var used = MetricName().Matches(rules).Select(m => m.Value).Where(n => !n.EndsWith('_')).Distinct().ToArray();
        Assert.NotEmpty(used);
        Assert.All(used, name => Assert.Contains(name, exported));
    }

    /// <summary>The value of the one series of <paramref name="metric"/> that carries every label given; 0 when there is none yet.</summary>
    private static double Counter(string text, string metric, params string[] labels)
    {
        var line = text.Split('\n').SingleOrDefault(l =>
            (l.StartsWith(metric + "{", StringComparison.Ordinal) || l.StartsWith(metric + " ", StringComparison.Ordinal))
            && labels.All(label => l.Contains(label, StringComparison.Ordinal)));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"\b(?:controlplane|orleans|http_server)_[a-z0-9_]+")]
    private static partial Regex MetricName();
}
