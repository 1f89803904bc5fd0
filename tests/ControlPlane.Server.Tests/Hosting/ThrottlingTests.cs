using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using static ControlPlane.Server.Tests.Commits.BillingApi;

namespace ControlPlane.Server.Tests.Hosting;

/// <summary>
/// Each caller has its own budget (<see cref="HostileVolumeServerFixture"/>: 30 requests, refilled once a minute):
/// a token by its identity, a node by its id, requests without a valid token by their address. Beyond it: 429,
/// <c>Retry-After</c> and a ProblemDetails body, and nobody else is affected.
/// </summary>
[Collection(HostileVolumeServerFixture.CollectionName)]
public sealed partial class ThrottlingTests(HostileVolumeServerFixture fixture)
{
    private const int Burst = HostileVolumeServerFixture.Burst;

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task CustomerToken_BeyondItsBudget_Answers429WithRetryAfterAndOtherCustomersAreUnaffected()
    {
        using var admin = Server.CreateOperatorClient();
        using var flooder = Server.CreateClient(await admin.IssueTokenAsync("customer", NewId("throttle-flood")));
        using var other = Server.CreateClient(await admin.IssueTokenAsync("customer", NewId("throttle-other")));

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < Burst; i++)
        {
            using var response = await flooder.GetAsync("/v1/contracts");
            statuses.Add(response.StatusCode);
        }

        using var refused = await flooder.GetAsync("/v1/contracts");
        using var unaffected = await other.GetAsync("/v1/contracts");

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        await AssertThrottledAsync(refused, "Too many requests.");
        Assert.Equal(HttpStatusCode.OK, unaffected.StatusCode);
    }

    [Fact]
    public async Task TwoTokensOfOneCustomer_ShareOneBudget()
    {
        using var admin = Server.CreateOperatorClient();
        var customerId = NewId("throttle-shared");
        using var first = Server.CreateClient(await admin.IssueTokenAsync("customer", customerId));
        using var second = Server.CreateClient(await admin.IssueTokenAsync("customer", customerId));

        for (var i = 0; i < Burst; i++)
        {
            using var response = await first.GetAsync("/v1/contracts");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var refused = await second.GetAsync("/v1/contracts");

        await AssertThrottledAsync(refused, "Too many requests.");
    }

    [Fact]
    public async Task GatewayToken_BeyondItsBudget_Answers429AndOtherGatewaysAreUnaffected()
    {
        using var admin = Server.CreateOperatorClient();
        using var flooder = Server.CreateClient(await admin.IssueTokenAsync("gateway", NewId("throttle-gw")));
        using var other = Server.CreateClient(await admin.IssueTokenAsync("gateway", NewId("throttle-gw-other")));

        for (var i = 0; i < Burst; i++)
        {
            using var response = await flooder.PostAsJsonAsync("/gateway/v1/demand", new { deploymentId = NewId("nothing"), tokensPerSecond = 1 });
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using var refused = await flooder.PostAsJsonAsync("/gateway/v1/demand", new { deploymentId = NewId("nothing"), tokensPerSecond = 1 });
        using var unaffected = await other.PostAsJsonAsync("/gateway/v1/demand", new { deploymentId = NewId("nothing"), tokensPerSecond = 1 });

        await AssertThrottledAsync(refused, "Too many requests.");
        Assert.Equal(HttpStatusCode.NotFound, unaffected.StatusCode);
    }

    [Fact]
    public async Task NodeHeartbeats_BeyondTheNodesBudget_Answers429AndOtherNodesAreUnaffected()
    {
        using var admin = Server.CreateOperatorClient();
        var (busy, busyToken) = await admin.EnrollAsync(NewId("throttle-node"));
        var (calm, calmToken) = await admin.EnrollAsync(NewId("throttle-calm"));
        using var busyNode = Server.CreateClient(busyToken);
        using var calmNode = Server.CreateClient(calmToken);

        for (var sequence = 1; sequence <= Burst; sequence++)
        {
            using var response = await busyNode.HeartbeatAsync(busy, sequence, ApiClient.Gpus(1));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var refused = await busyNode.HeartbeatAsync(busy, Burst + 1, ApiClient.Gpus(1));
        using var unaffected = await calmNode.HeartbeatAsync(calm, 1, ApiClient.Gpus(1));

        await AssertThrottledAsync(refused, "Too many requests.");
        Assert.Equal(HttpStatusCode.OK, unaffected.StatusCode);
    }

    [Fact]
    public async Task RefusedTokens_FromOneAddress_Answer401Then429_OtherAddressesAndValidTokensAreUnaffected()
    {
        using var attacker = ClientFrom("127.0.0.2", "cp1.bm90LWEtdG9rZW4.c2lnbmF0dXJl");
        using var neighbour = ClientFrom("127.0.0.3", "not-a-token-at-all");
        using var operatorFromTheAttackersAddress = ClientFrom("127.0.0.2", Server.OperatorToken);

        for (var i = 0; i < Burst; i++)
        {
            using var response = await attacker.GetAsync("/admin/v1/nodes");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        }

        using var refused = await attacker.GetAsync("/admin/v1/nodes");
        using var neighbours = await neighbour.GetAsync("/admin/v1/nodes");
        using var operators = await operatorFromTheAttackersAddress.GetAsync("/admin/v1/pools");

        await AssertThrottledAsync(refused, "Too many failed authentication attempts.");
        Assert.Equal(HttpStatusCode.Unauthorized, neighbours.StatusCode);
        Assert.Equal(HttpStatusCode.OK, operators.StatusCode);
    }

    [Fact]
    public async Task AnonymousRequests_FromOneAddress_Answer429_ButHealthProbesNever()
    {
        using var anonymous = ClientFrom("127.0.0.4", token: null);

        for (var i = 0; i < Burst; i++)
        {
            using var response = await anonymous.GetAsync("/openapi/v1.json");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var refused = await anonymous.GetAsync("/metrics");
        using var live = await anonymous.GetAsync("/health/live");
        using var ready = await anonymous.GetAsync("/health/ready");

        await AssertThrottledAsync(refused, "Too many requests.");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task Metrics_CountThrottledRequestsByLimit()
    {
        using var admin = Server.CreateOperatorClient();
        using var flooder = Server.CreateClient(await admin.IssueTokenAsync("customer", NewId("throttle-counted")));
        var before = await ThrottledAsync(admin, "customer");

        for (var i = 0; i < Burst + 3; i++)
        {
            using var response = await flooder.GetAsync("/v1/contracts");
        }

        // The Prometheus endpoint caches its answer for a moment: poll until the count is current.
        await Poll.UntilAsync(() => ThrottledAsync(admin, "customer"), n => n == before + 3, TimeSpan.FromSeconds(30), "3 more throttled customer requests");
    }

    private static async Task AssertThrottledAsync(HttpResponseMessage response, string title)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        // The budget refills once a minute.
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        var problem = await response.ProblemAsync();
        Assert.Equal(429, problem["status"]!.GetValue<int>());
        Assert.Equal(title, problem["title"]!.GetValue<string>());
        Assert.Contains($"may make {Burst} requests at once", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static async Task<long> ThrottledAsync(HttpClient client, string limit)
    {
        var text = await client.GetStringAsync("/metrics");
        var match = ThrottledLine().Matches(text).FirstOrDefault(m => m.Groups["labels"].Value.Contains($"limit=\"{limit}\"", StringComparison.Ordinal));
        return match is null ? 0 : long.Parse(match.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A client whose connections come from <paramref name="localAddress"/> (any 127.x address is loopback on Linux).</summary>
    private HttpClient ClientFrom(string localAddress, string? token)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var client = new HttpClient(handler) { BaseAddress = Server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    [GeneratedRegex(@"^controlplane_requests_throttled_total\{(?<labels>[^}]*)\} (?<value>\d+)", RegexOptions.Multiline)]
    private static partial Regex ThrottledLine();
}
