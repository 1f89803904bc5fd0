using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;
using static ControlPlane.Server.Tests.Deployments.LiquidCapacityTests;

namespace ControlPlane.Server.Tests.Deployments;

/// <summary>
/// <c>PATCH /admin/v1/deployments/{id}</c> on the real server with PostgreSQL: new replica limits take effect at once,
/// survive a restart, are the same when sent twice, and bad input or a reservation without room changes nothing.
/// </summary>
public sealed class DeploymentLimitsTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string> Settings(string db) => new()
    {
        ["Storage:Provider"] = "postgres",
        ["Storage:ConnectionString"] = db,
        ["Auth:BootstrapToken"] = "limits-operator-token",
        ["Fleet:HeartbeatIntervalSeconds"] = "1",
        ["Capacity:ScaleDownDelaySeconds"] = "3",
        ["Capacity:ForecastHorizonSeconds"] = "0",
        ["Capacity:ReconcileSeconds"] = "1",
    };

    [Fact]
    public async Task MaxLoweredBelowDesired_DesiredAndReplicasDropAtOnce_ARetryIsTheSame_AndItSurvivesARestart()
    {
        var db = await postgres.CreateDatabaseAsync("deployment_limits", Ct);
        string[] kept;
        await using (var server = await ServerProcess.StartAsync(Settings(db), ct: Ct))
        {
            using var admin = server.CreateOperatorClient();
            using var gateway = server.CreateClient(await Commits.BillingApi.IssueTokenAsync(admin, "gateway", "limits-gateway"));
            await using var nodes = new SimulatedNodes(server, TimeSpan.FromMilliseconds(500));
            await nodes.StartAsync(admin, "lim-a", 2, "lim-a");
            await CreateAsync(admin, Dedicated("lim-a-ded", "lim-a", gpus: 2, reserved: 1, max: 6));
            await DemandAsync(gateway, "lim-a-ded", 5_000);
            var five = await UntilAsync(admin, "lim-a-ded", d => Ready(d) == 5, "five ready replicas for the demand");
            kept = Replicas(five).Where(r => r["ordinal"]!.GetValue<int>() < 3).Select(r => r["replicaId"]!.GetValue<string>()).Order(StringComparer.Ordinal).ToArray();

            // The new maximum applies at once, not at the next demand signal; the other limits keep their value.
            var lowered = await PatchAsync(admin, "lim-a-ded", """{"maxReplicas":3}""");
            Assert.Equal(HttpStatusCode.OK, lowered.Status);
            Assert.Equal((0, 1, 3, 3, 1), Limits(lowered.Body));

            var three = await UntilAsync(admin, "lim-a-ded", d => Placed(d) == 3 && Replicas(d).Count == 3, "the replicas above the new maximum to be released");
            Assert.Equal(kept, Replicas(three).Select(r => r["replicaId"]!.GetValue<string>()).Order(StringComparer.Ordinal));

            // Sent again: the same answer, and nothing moves.
            var again = await PatchAsync(admin, "lim-a-ded", """{"maxReplicas":3}""");
            Assert.Equal(HttpStatusCode.OK, again.Status);
            Assert.Equal(Limits(lowered.Body), Limits(again.Body));

            // Demand still asks for five: the autoscaler keeps to the new maximum.
            await DemandAsync(gateway, "lim-a-ded", 5_000);
            Assert.Equal(3, (await GetAsync(admin, "lim-a-ded"))["desiredReplicas"]!.GetValue<int>());
            Assert.Empty(nodes.Violations);
            await server.KillAsync();
        }

        await using var restarted = await ServerProcess.StartAsync(Settings(db), ct: Ct);
        using var admin2 = restarted.CreateOperatorClient();
        Assert.Equal((0, 1, 3, 3, 1), Limits(await GetAsync(admin2, "lim-a-ded")));
    }

    [Fact]
    public async Task ReservationRaised_TheBurstReplicaOfThatOrdinalIsReplacedAsReservedMakeBeforeBreak()
    {
        var db = await postgres.CreateDatabaseAsync("deployment_limits_reserve", Ct);
        await using var server = await ServerProcess.StartAsync(Settings(db), ct: Ct);
        using var admin = server.CreateOperatorClient();
        using var gateway = server.CreateClient(await Commits.BillingApi.IssueTokenAsync(admin, "gateway", "limits-gateway"));
        await using var nodes = new SimulatedNodes(server, TimeSpan.FromMilliseconds(500));
        await nodes.StartAsync(admin, "lim-c", 1, "lim-c");
        await CreateAsync(admin, Dedicated("lim-c-ded", "lim-c", gpus: 2, reserved: 1, max: 3));
        await DemandAsync(gateway, "lim-c-ded", 3_000);
        var before = await UntilAsync(admin, "lim-c-ded", d => Ready(d) == 3, "three ready replicas");
        Assert.Equal(["reserved", "burst", "burst"], Replicas(before).Select(r => r["tier"]!.GetValue<string>()));
        var reservedId = Replicas(before)[0]["replicaId"]!.GetValue<string>();

        var raised = await PatchAsync(admin, "lim-c-ded", """{"reservedReplicas":2}""");
        Assert.Equal(HttpStatusCode.OK, raised.Status);
        Assert.Equal((0, 2, 3, 3, 1), Limits(raised.Body));

        // Ordinal 1 is reserved now: its burst replica serves until a reserved successor is ready; ordinals 0 and 2 stay.
        var after = await UntilAsync(
            admin, "lim-c-ded", d => Ready(d) == 3 && Replicas(d).Count == 3 && Replicas(d)[1]["tier"]!.GetValue<string>() == "reserved", "a reserved replica at ordinal 1");
        Assert.Equal(["reserved", "reserved", "burst"], Replicas(after).Select(r => r["tier"]!.GetValue<string>()));
        Assert.Equal(reservedId, Replicas(after)[0]["replicaId"]!.GetValue<string>());
        Assert.Equal(Replicas(before)[2]["replicaId"]!.GetValue<string>(), Replicas(after)[2]["replicaId"]!.GetValue<string>());
        Assert.Empty(nodes.Violations);
    }

    [Fact]
    public async Task BadInputUnknownIdOrAReservationWithoutRoom_Is4xxProblemAndChangesNothing()
    {
        var db = await postgres.CreateDatabaseAsync("deployment_limits_refused", Ct);
        await using var server = await ServerProcess.StartAsync(Settings(db), ct: Ct);
        using var admin = server.CreateOperatorClient();
        await using var nodes = new SimulatedNodes(server, TimeSpan.FromMilliseconds(500));
        await nodes.StartAsync(admin, "lim-b", 1, "lim-b");

        // Two reserved replicas of 4 GPUs take the whole 8-GPU node; a second customer's deployment reserves nothing.
        await CreateAsync(admin, Dedicated("lim-b-first", "lim-b", gpus: 4, reserved: 2, max: 2));
        await CreateAsync(admin, Dedicated("lim-b-second", "lim-b", gpus: 4, reserved: 0, max: 2));
        await CreateAsync(admin, Batch("lim-b-batch", "lim-b", max: 4));
        var before = await GetAsync(admin, "lim-b-second");

        var refused = await PatchAsync(admin, "lim-b-second", """{"reservedReplicas":1}""");
        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Equal("The reservation cannot be honoured.", refused.Body["title"]!.GetValue<string>());
        Assert.Equal(409, refused.Body["status"]!.GetValue<int>());
        Assert.Equal(Limits(before), Limits(await GetAsync(admin, "lim-b-second")));

        foreach (var (body, field) in new[]
        {
            ("""{"minReplicas":3,"maxReplicas":2}""", "minReplicas"),
            ("""{"minReplicas":-1}""", "minReplicas"),
            ("""{"maxReplicas":0}""", "maxReplicas"),
            ("""{"reservedReplicas":-2}""", "reservedReplicas"),
            ("""{"reservedReplicas":3}""", "reservedReplicas"),
            ("""{"maxReplicas":"two"}""", "maxReplicas"),
            ("""{"minReplicas":1.5}""", "minReplicas"),
            ("""{"maxReplica":1}""", "body"),
            ("""{}""", "body"),
        })
        {
            var bad = await PatchAsync(admin, "lim-b-second", body);
            Assert.True(bad.Status == HttpStatusCode.BadRequest, $"{body}: {(int)bad.Status} {bad.Body.ToJsonString()}");
            Assert.True(bad.Body["errors"]?[field] is not null, $"{body}: {bad.Body.ToJsonString()}");
        }

        // A shared deployment has no reservation to change.
        var shared = await PatchAsync(admin, "lim-b-batch", """{"reservedReplicas":1}""");
        Assert.Equal(HttpStatusCode.BadRequest, shared.Status);
        Assert.NotNull(shared.Body["errors"]!["reservedReplicas"]);
        Assert.Equal(HttpStatusCode.NotFound, (await PatchAsync(admin, "lim-b-nobody", """{"maxReplicas":1}""")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await PatchAsync(admin, "no such id", """{"maxReplicas":1}""")).Status);
        Assert.Equal(Limits(before), Limits(await GetAsync(admin, "lim-b-second")));

        // Once the first customer reserves less, the second one's raise fits (a lower reservation is never refused).
        Assert.Equal(HttpStatusCode.OK, (await PatchAsync(admin, "lim-b-first", """{"reservedReplicas":1,"maxReplicas":1}""")).Status);
        var raised = await PatchAsync(admin, "lim-b-second", """{"reservedReplicas":1}""");
        Assert.Equal(HttpStatusCode.OK, raised.Status);
        Assert.Equal((0, 1, 2, 0, 1), Limits(raised.Body));
    }

    /// <summary>(minReplicas, reservedReplicas, maxReplicas, desiredReplicas, generation).</summary>
    private static (int, int, int, int, int) Limits(JsonNode d) => (
        d["minReplicas"]!.GetValue<int>(), d["reservedReplicas"]!.GetValue<int>(), d["maxReplicas"]!.GetValue<int>(),
        d["desiredReplicas"]!.GetValue<int>(), d["generation"]!.GetValue<int>());

    private static async Task<(HttpStatusCode Status, JsonNode Body)> PatchAsync(HttpClient admin, string id, string body)
    {
        using var response = await admin.PatchAsync(
            $"/admin/v1/deployments/{Uri.EscapeDataString(id)}", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        return (response.StatusCode, JsonNode.Parse(text.Length == 0 ? "{}" : text)!);
    }
}
