using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Commits;
using ControlPlane.Server.Tests.Deployments;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Cluster;

/// <summary>
/// A database outage on a real cluster: two server processes (Azure Table clustering on Azurite, grain state in
/// PostgreSQL), and the PostgreSQL server itself stopped for a while. Every call that needs storage meanwhile (usage
/// batches whose day buckets live on either silo, or must be activated; heartbeats that change a node; demand that
/// changes a deployment) is answered 503 with <c>Retry-After</c> and a ProblemDetails body, from both silos (readiness says
/// <c>Degraded</c> and stays 200, so the silos stay in the Service to give those answers):
/// never a 500, which a gateway may not retry. Once PostgreSQL is back, the same batches are accepted and counted once.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StorageOutageTests(PostgresFixture postgres, AzuriteFixture azurite)
{
    private const string OperatorToken = "storage-outage-operator-token";
    private const string Model = "outage-model";
    private const string CustomerId = "outage-customer";
    private const string ContractId = "outage-contract";

    // Days of the contract's term (it started 2026-01-01): the first twelve get day buckets before the outage, six
    // through each silo, so that during the outage each silo's batches reach buckets on the other silo too; the last
    // has no bucket yet, which must then be activated (its state read) while PostgreSQL is down.
    private static readonly DateTimeOffset[] Days = Enumerable.Range(1, 13)
        .Select(i => new DateTimeOffset(2026, 1 + (i % 11), 1 + i, 12, 0, 0, TimeSpan.Zero))
        .ToArray();

    [Fact]
    public async Task PostgresStopped_CallsThatNeedStorageAre503WithRetryAfterOnEverySilo_AndNothingIsLost()
    {
        var ct = TestContext.Current.CancellationToken;
        var db = await postgres.CreateDatabaseAsync("storage_outage", ct);
        var settings = ClusterSettings.For(db, azurite, "storage-outage", OperatorToken);
        settings["Billing:AutoCloseQuarters"] = "false";

        await using var a = await ServerProcess.StartAsync(settings, ct: ct);
        await using var b = await ServerProcess.StartAsync(settings, ct: ct);
        ServerProcess[] silos = [a, b];

        using var admin = a.CreateOperatorClient();
        await admin.SetPriceAsync(Model, 2m, 10m);
        await admin.CreateContractAsync(BillingApi.Contract(ContractId, CustomerId, "2026-01-01", 4, 50_000m));
        var gatewayToken = await admin.IssueTokenAsync("gateway", "outage-gateway");
        var gateways = silos.Select(s => s.CreateClient(gatewayToken)).ToArray();
        var nodes = new List<(string NodeId, HttpClient Client)>();
        for (var i = 0; i < silos.Length; i++)
        {
            var (nodeId, token) = await admin.EnrollAsync($"outage-node-{i}", "outage-region");
            var client = silos[i].CreateClient(token);
            using var beat = await client.HeartbeatAsync(nodeId, 1, ApiClient.Gpus(8));
            Assert.Equal(HttpStatusCode.OK, beat.StatusCode);
            nodes.Add((nodeId, client));
            await LiquidCapacityTests.CreateAsync(admin, new
            {
                deploymentId = $"outage-batch-{i}", model = Model, @class = "batch", gpusPerReplica = 1, minGpuMemoryGiB = 80,
                minReplicas = 0, reservedReplicas = 0, maxReplicas = 2, tokensPerSecondPerReplica = 1_000,
            });
        }

        try
        {
            // Day buckets 0-5 activated through silo a, 6-11 through b (placement prefers the calling silo).
            for (var i = 0; i < silos.Length; i++)
            {
                var primed = Enumerable.Range(i * 6, 6).Select(d => Event($"prime-{d}", Days[d], 1_000, 100)).ToArray();
                Assert.Equal("accepted 6, duplicates 0", await gateways[i].SendUsageAsync($"prime-{i}", primed));
            }

            Assert.Equal(12 * 1_000L, await InputTokensAsync(admin));
            await postgres.Server.StopAsync();
            var unavailable = new List<string>();
            try
            {
                // Readiness says so, on both silos, without taking them out of the Service (a database blip hits every
                // silo at once): Degraded, still 200; the API answers its own 503s below.
                foreach (var silo in silos)
                {
                    using var http = silo.CreateClient();
                    var degraded = await Poll.UntilAsync(
                        async () =>
                        {
                            using var ready = await http.GetAsync("/health/ready", ct);
                            return ((int)ready.StatusCode, await ready.Content.ReadAsStringAsync(ct));
                        },
                        r => r.Item2 == "Degraded",
                        TimeSpan.FromSeconds(30),
                        $"{silo.BaseAddress} /health/ready to say Degraded");
                    Assert.Equal(200, degraded.Item1);
                }

                // Usage through each silo: fresh events on every day, so buckets on both silos must write, and one
                // bucket that must first be read; the batches that touch a single bucket show each kind on its own.
                var outageBatches = new List<(int Silo, string BatchId, JsonNode[] Events)>();
                for (var i = 0; i < silos.Length; i++)
                {
                    outageBatches.Add((i, $"outage-all-{i}", Days.Select((day, d) => Event($"outage-{i}-{d}", day, 2_000 + d, 300 + i)).ToArray()));
                    outageBatches.Add((i, $"outage-remote-{i}", [Event($"outage-remote-{i}", Days[(1 - i) * 6], 5_000, 500)]));
                    outageBatches.Add((i, $"outage-new-{i}", [Event($"outage-new-{i}", Days[12], 7_000, 700)]));
                }

                foreach (var (silo, batchId, events) in outageBatches)
                {
                    using var response = await gateways[silo].PostUsageAsync(batchId, events);
                    await ExpectUnavailableAsync(response, $"usage {batchId} through silo {silo}", unavailable);
                }

                // A heartbeat that changes its node (the agent cannot read its GPUs) must be stored: through both silos.
                for (var i = 0; i < nodes.Count; i++)
                {
                    var (nodeId, client) = nodes[i];
                    using var response = await client.PostAsJsonAsync(
                        $"/agent/v1/nodes/{nodeId}/heartbeat",
                        new { sequence = 2, agentSessionId = "session-1", agentVersion = "test", inventoryError = "nvidia-smi failed", gpus = Array.Empty<object>(), replicas = Array.Empty<object>() },
                        ct);
                    await ExpectUnavailableAsync(response, $"heartbeat of {nodeId} through silo {i}", unavailable);
                }

                // Demand that changes a deployment's desired replicas must be stored: one deployment through each silo.
                for (var i = 0; i < silos.Length; i++)
                {
                    using var response = await gateways[i].PostAsJsonAsync("/gateway/v1/demand", new { deploymentId = $"outage-batch-{i}", tokensPerSecond = 500 }, ct);
                    await ExpectUnavailableAsync(response, $"demand for outage-batch-{i} through silo {i}", unavailable);
                }

                TestContext.Current.TestOutputHelper?.WriteLine(string.Join(Environment.NewLine, unavailable));
            }
            finally
            {
                await postgres.Server.StartAgainAsync(ct);
            }

            // Back: readiness recovers, and a gateway that retried its 503s loses nothing and counts nothing twice.
            foreach (var silo in silos)
            {
                using var http = silo.CreateClient();
                await Poll.UntilAsync(
                    async () => (await http.GetAsync("/health/ready", ct)).StatusCode,
                    status => status == HttpStatusCode.OK,
                    TimeSpan.FromSeconds(60),
                    $"{silo.BaseAddress} to be ready again");
            }

            var expected = new Dictionary<string, int>
            {
                ["outage-all-0"] = Days.Length, ["outage-all-1"] = Days.Length,
                ["outage-remote-0"] = 1, ["outage-remote-1"] = 1, ["outage-new-0"] = 1, ["outage-new-1"] = 1,
            };
            for (var i = 0; i < silos.Length; i++)
            {
                foreach (var batchId in expected.Keys.Where(k => k.EndsWith($"-{i}", StringComparison.Ordinal)))
                {
                    var events = batchId switch
                    {
                        _ when batchId.StartsWith("outage-all", StringComparison.Ordinal) => Days.Select((day, d) => Event($"outage-{i}-{d}", day, 2_000 + d, 300 + i)).ToArray(),
                        _ when batchId.StartsWith("outage-remote", StringComparison.Ordinal) => [Event($"outage-remote-{i}", Days[(1 - i) * 6], 5_000, 500)],
                        _ => [Event($"outage-new-{i}", Days[12], 7_000, 700)],
                    };
                    var answer = await Poll.UntilAsync(
                        async () =>
                        {
                            using var response = await gateways[i].PostUsageAsync(batchId, events);
                            return response.StatusCode == HttpStatusCode.OK ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
                        },
                        json => json is not null,
                        TimeSpan.FromSeconds(60),
                        $"usage batch {batchId} to be accepted after the outage");
                    Assert.Equal(expected[batchId], answer!["accepted"]!.GetValue<int>());
                    Assert.Equal(0, answer["duplicates"]!.GetValue<int>());
                }
            }

            // Every event counted once: 12 primed, 2 x 13 + 4 sent during the outage and resent after it.
            long inputs = 12 * 1_000L + Enumerable.Range(0, 2).Sum(i => Enumerable.Range(0, 13).Sum(d => 2_000L + d)) + 2 * 5_000 + 2 * 7_000;
            Assert.Equal(inputs, await InputTokensAsync(admin));
        }
        catch
        {
            foreach (var silo in silos)
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"--- {silo.BaseAddress}:{Environment.NewLine}{ServerProcess.Tail(silo.Output, 80)}");
            }

            throw;
        }
        finally
        {
            foreach (var client in gateways.Concat(nodes.Select(n => n.Client)))
            {
                client.Dispose();
            }
        }
    }

    private static async Task<long> InputTokensAsync(HttpClient admin) =>
        (await admin.GetContractAsync(ContractId))["usageByModel"]!.AsArray().Single()!["inputTokens"]!.GetValue<long>();

    private static JsonNode Event(string eventId, DateTimeOffset at, long inputTokens, long outputTokens) =>
        BillingApi.Event(eventId, CustomerId, Model, inputTokens, outputTokens, at);

    /// <summary>A 503 that a client can act on: <c>Retry-After</c> in seconds and a ProblemDetails body.</summary>
    private static async Task ExpectUnavailableAsync(HttpResponseMessage response, string what, List<string> seen)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{what}: {(int)response.StatusCode} {body}");
        Assert.True(response.Headers.RetryAfter?.Delta is { TotalSeconds: > 0 }, $"{what}: 503 without Retry-After");
        var problem = await response.ProblemAsync();
        Assert.Equal(503, problem["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrWhiteSpace(problem["title"]?.GetValue<string>()), $"{what}: a problem without a title: {body}");
        seen.Add($"{what}: 503, Retry-After {response.Headers.RetryAfter!.Delta!.Value.TotalSeconds} s, {problem["title"]}");
    }
}
