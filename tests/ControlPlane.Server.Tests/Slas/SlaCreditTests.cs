using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ControlPlane.Server.Tests.Deployments;
using ControlPlane.Server.Tests.Hosting;
using ControlPlane.Testing;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Slas;

/// <summary>
/// SLA credits on the real server with PostgreSQL, simulated 8-GPU nodes and a gateway that reports demand every second.
/// The server's clock runs ahead of the machine's (<c>Diagnostics:ClockOffsetSeconds</c>) so that the end of January,
/// which is also the end of the contract's first quarter, passes during the test.
/// </summary>
[Collection(CollectionName)]
public sealed class SlaCreditTests(PostgresFixture postgres)
{
    /// <summary>A collection of its own, which <see cref="LongTestsFirst"/> starts first.</summary>
    public const string CollectionName = "SLA credits: real minutes";

    private const string OperatorToken = "sla-operator-token";
    private static readonly DateTimeOffset MonthEnd = new(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(150);

    [Fact]
    public async Task OutageAcrossTheQuarterEnd_ThenASiloRestart_CreditedOnceExactlyAndNoMinuteCountedTwice()
    {
        var ct = TestContext.Current.CancellationToken;
        var db = await postgres.CreateDatabaseAsync("sla_credits", ct);
        // The server's clock starts at 23:57:30 on 31 January (the set-up must create the deployment before 23:59 for
        // January to hold a whole minute of it); the ports are fixed so that the agents, the gateway and the test's
        // clients find the silo again after it restarts.
        var offset = new DateTimeOffset(2026, 1, 31, 23, 57, 30, TimeSpan.Zero) - DateTimeOffset.UtcNow;
        var http = FreePort.Next();
        var silo = FreePort.Next(http);
        var settings = new Dictionary<string, string>
        {
            ["Storage:Provider"] = "postgres",
            ["Storage:ConnectionString"] = db,
            ["Auth:BootstrapToken"] = OperatorToken,
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{http.ToString(CultureInfo.InvariantCulture)}",
            ["Clustering:SiloPort"] = silo.ToString(CultureInfo.InvariantCulture),
            ["Clustering:GatewayPort"] = FreePort.Next(http, silo).ToString(CultureInfo.InvariantCulture),
            ["Diagnostics:ClockOffsetSeconds"] = ((long)offset.TotalSeconds).ToString(CultureInfo.InvariantCulture),
            ["Billing:AutoCloseQuarters"] = "false",
            ["Fleet:HeartbeatIntervalSeconds"] = "1",
            ["Fleet:SuspectAfterMissedHeartbeats"] = "2",
            ["Fleet:DownAfterMissedHeartbeats"] = "4",
            ["Capacity:ForecastHorizonSeconds"] = "0",
            ["Capacity:ReconcileSeconds"] = "1",
            ["Capacity:SloSampleSeconds"] = "1",
        };
        DateTimeOffset ServerNow() => DateTimeOffset.UtcNow + TimeSpan.FromSeconds((long)offset.TotalSeconds);
        Task UntilServerTimeAsync(DateTimeOffset at) =>
            Poll.UntilAsync(() => Task.FromResult(ServerNow()), now => now >= at, Deadline, $"the server's clock to pass {at:HH:mm:ss}");

        var first = await ServerProcess.StartAsync(settings, ct: ct);
        await using var firstOwned = first;
        using var admin = first.CreateOperatorClient();
        using var gateway = first.CreateClient(await admin.IssueTokenAsync("gateway", "sla-gateway"));
        await admin.SetPriceAsync("sla-model", 3m, 15m);
        // Q1 is November to January, so January's SLO period ends with the quarter.
        await admin.CreateContractAsync(Contract("sla-contract", "sla-cust", "2025-11-01", 2, 1000m, discountPercent: 20m));

        await using var nodes = new SimulatedNodes(first, TimeSpan.FromMilliseconds(500));
        var n1 = (await nodes.StartAsync(admin, "sla-a", 1, "sla-a"))[0];
        var createdAfter = ServerNow();
        await LiquidCapacityTests.CreateAsync(admin, new
        {
            deploymentId = "sla-chat", model = "sla-model", @class = "dedicated", customerId = "sla-cust", gpusPerReplica = 1,
            minGpuMemoryGiB = 80, regions = new[] { "sla-a" }, minReplicas = 1, reservedReplicas = 1, maxReplicas = 1, tokensPerSecondPerReplica = 1_000,
        });
        var createdBefore = ServerNow();
        using (var set = await admin.PutAsJsonAsync("/admin/v1/contracts/sla-contract/slos/sla-chat", SloBody(), ct))
        {
            Assert.True(set.StatusCode == HttpStatusCode.OK, await set.Content.ReadAsStringAsync(ct));
        }

        using var stopDemand = new CancellationTokenSource();
        var demand = ReportDemandAsync(gateway, stopDemand.Token);
        await LiquidCapacityTests.UntilAsync(admin, "sla-chat", d => LiquidCapacityTests.Ready(d) == 1, "the reserved replica");

        // $30 at list in January, $15 in February, 20% off: $24.00 and $12.00.
        Assert.Equal("accepted 2, duplicates 0", await gateway.SendUsageAsync(
            "sla-usage",
            Usage("sla-jan", "2026-01-20T10:00:00Z", 10_000_000),
            Usage("sla-feb", "2026-02-01T00:00:01Z", 5_000_000)));

        // The machine dies a little before midnight and a new one takes the replica a little after.
        await UntilServerTimeAsync(MonthEnd.AddSeconds(-30));
        await nodes.KillAsync(n1);
        await UntilServerTimeAsync(MonthEnd.AddSeconds(10));
        await nodes.StartAsync(admin, "sla-b", 1, "sla-a");
        await LiquidCapacityTests.UntilAsync(admin, "sla-chat", d => LiquidCapacityTests.Ready(d) == 1 && LiquidCapacityTests.Replicas(d)[0]["nodeId"]!.GetValue<string>() != n1, "the replica on the new machine");

        // January: the minutes it existed, the last one missed: below 99%, so 25% of its $24.00.
        var invoice = await admin.CloseQuarterAsync("sla-contract", 1);
        Assert.Equal("commit Q2 1000.00 + sla-credit Q1 -6.00 = 994.00", DescribeInvoice(invoice));
        var january = invoice["lines"]![1]!["sla"]!;
        var minutes = january["minutes"]!.GetValue<long>();
        Assert.InRange(minutes, WholeMinutes(createdBefore, MonthEnd), WholeMinutes(createdAfter, MonthEnd));
        Assert.Equal(
            ("sla-chat", "2026-01-01", "2026-02-01", 99m, 25m, "24.00"),
            (january["deploymentId"]!.GetValue<string>(), january["periodStart"]!.GetValue<string>(), january["periodEnd"]!.GetValue<string>(),
                january["belowPercent"]!.GetValue<decimal>(), january["creditPercent"]!.GetValue<decimal>(), january["usageUsd"]!.GetValue<string>()));
        Assert.True(january["missedMinutes"]!.GetValue<long>() >= 1, january.ToJsonString());
        Assert.Equal(minutes, january["metMinutes"]!.GetValue<long>() + january["missedMinutes"]!.GetValue<long>() + january["unmeasuredMinutes"]!.GetValue<long>());

        // February began without a ready replica: its first minute is missed, so the preview of Q2 already credits it.
        var february = await Poll.UntilAsync(
            () => FebruaryAsync(admin),
            f => f["measurement"]!["metMinutes"]!.GetValue<long>() >= 1,
            Deadline,
            "a met minute in February");
        Assert.True(february["measurement"]!["missedMinutes"]!.GetValue<long>() >= 1, february.ToJsonString());
        Assert.False(february["final"]!.GetValue<bool>());
        Assert.Equal("sla-credit Q2 -3.00 = -3.00", DescribeInvoice(await admin.PreviewAsync("sla-contract")));

        // The silo restarts during February's measurement.
        var before = february["measurement"]!;
        await first.KillAsync();
        await using var second = await ServerProcess.StartAsync(settings, ct: ct);
        using var admin2 = second.CreateOperatorClient();
        using var customer = second.CreateClient(await admin2.IssueTokenAsync("customer", "sla-cust"));
        var after = (await Poll.UntilAsync(
            () => FebruaryAsync(admin2),
            f => f["measurement"]!["metMinutes"]!.GetValue<long>() > before["metMinutes"]!.GetValue<long>(),
            Deadline,
            "a met minute in February after the restart"))["measurement"]!;
        var now = ServerNow();
        var (met, missed, unmeasured) = (after["metMinutes"]!.GetValue<long>(), after["missedMinutes"]!.GetValue<long>(), after["unmeasuredMinutes"]!.GetValue<long>());
        // Nothing recorded before the restart is lost, the minutes nobody measured are counted unmeasured (never met),
        // and no minute is counted twice: verdicts never outnumber the minutes that have passed.
        Assert.True(met > before["metMinutes"]!.GetValue<long>() && missed >= before["missedMinutes"]!.GetValue<long>(), after.ToJsonString());
        Assert.True(unmeasured >= 1, after.ToJsonString());
        Assert.True(met + missed <= WholeMinutes(MonthEnd, now), $"{after.ToJsonString()} at {now:O}");
        Assert.Equal(after["minutes"]!.GetValue<long>(), met + missed + unmeasured);

        // The credit is on the invoice once, however often the invoice is asked for, by operator or customer.
        var again = await admin2.CloseQuarterAsync("sla-contract", 1);
        Assert.Equal(invoice.ToJsonString(), again.ToJsonString());
        var invoices = await admin2.GetInvoicesAsync("sla-contract");
        Assert.Equal(["commit Q1 1000.00 = 1000.00", "commit Q2 1000.00 + sla-credit Q1 -6.00 = 994.00"], DescribeInvoices(invoices));
        Assert.Equal(invoices.ToJsonString(), (await customer.GetInvoicesAsync("sla-contract", "/v1")).ToJsonString());
        var mine = await customer.GetJsonAsync("/v1/contracts/sla-contract/slas");
        var januaryView = mine.AsArray().Single(p => p!["measurement"]!["periodStart"]!.GetValue<string>() == "2026-01-01")!;
        Assert.Equal(("6.00", true, invoice["invoiceId"]!.GetValue<string>()),
            (januaryView["creditUsd"]!.GetValue<string>(), januaryView["final"]!.GetValue<bool>(), januaryView["invoiceId"]!.GetValue<string>()));

        await stopDemand.CancelAsync();
        await demand;
        Assert.Empty(nodes.Violations);
    }

    private static object SloBody() => new
    {
        period = "monthly",
        targetPercent = 99.9m,
        credits = new[] { new { belowPercent = 99.9m, creditPercent = 10m }, new { belowPercent = 99m, creditPercent = 25m } },
    };

    private static JsonObject Usage(string eventId, string at, long inputTokens)
    {
        var e = Event(eventId, "sla-cust", "sla-model", inputTokens, 0, At(at));
        e["deploymentId"] = "sla-chat";
        return e;
    }

    private static async Task<JsonNode> FebruaryAsync(HttpClient admin) =>
        (await admin.GetJsonAsync("/admin/v1/contracts/sla-contract/slas")).AsArray()
            .Single(p => p!["measurement"]!["periodStart"]!.GetValue<string>() == "2026-02-01")!;

    /// <summary>Whole minutes from the first minute start at or after <paramref name="from"/> to <paramref name="to"/>.</summary>
    private static long WholeMinutes(DateTimeOffset from, DateTimeOffset to)
    {
        var start = new DateTimeOffset(from.UtcTicks + (TimeSpan.TicksPerMinute - from.UtcTicks % TimeSpan.TicksPerMinute) % TimeSpan.TicksPerMinute, TimeSpan.Zero);
        var end = new DateTimeOffset(to.UtcTicks - to.UtcTicks % TimeSpan.TicksPerMinute, TimeSpan.Zero);
        return Math.Max(0, (long)(end - start).TotalMinutes);
    }

    /// <summary>The gateway's demand report, every second, through silo restarts (a failed report is simply sent again).</summary>
    private static async Task ReportDemandAsync(HttpClient gateway, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var response = await gateway.PostAsJsonAsync("/gateway/v1/demand", new { deploymentId = "sla-chat", tokensPerSecond = 500 }, ct);
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException)
            {
            }
        }
    }
}
