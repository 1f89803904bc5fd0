namespace ControlPlane.Server.Options;

/// <summary>
/// Request limits per caller (configuration section <c>RateLimiting</c>), token buckets from ASP.NET Core's rate
/// limiter. A request with a valid token counts against its identity: a node against its node id, a gateway, customer
/// or operator against its token's subject (so tokens issued for the same subject share one budget), wherever it
/// comes from: a fleet behind one NAT address, or every caller behind one ingress, is never throttled together. Only a
/// request without a valid token counts against its remote address (an IPv6 address by its /64), with failed
/// authentication attempts on a small budget of their own. Beyond a budget the answer is 429 with <c>Retry-After</c>.
/// Health probes are never limited.
/// </summary>
public sealed class RateLimitingOptions
{
    public const string SectionName = "RateLimiting";

    /// <summary>Whether requests are limited at all.</summary>
    /// <value><see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Each node's heartbeats, by node id. An agent sends one every heartbeat interval (5 s by default, at least 1 s)
    /// and retries after 1 s at the soonest: the default is 25 times its normal rate, so a fleet of any size is
    /// never throttled in normal operation, and a node in a retry loop costs little.
    /// </summary>
    /// <value>Burst 60, 5 a second.</value>
    public RateLimit Node { get; set; } = new() { Burst = 60, PerSecond = 5 };

    /// <summary>
    /// Each gateway identity: usage batches, demand signals and routing-table reads. Sized for a fleet of gateway
    /// replicas sharing one token that reads the routes of hundreds of deployments every second.
    /// </summary>
    /// <value>Burst 2,000, 1,000 a second.</value>
    public RateLimit Gateway { get; set; } = new() { Burst = 2_000, PerSecond = 1_000 };

    /// <summary>Each customer identity: balance, usage and invoice reads (a dashboard, a script).</summary>
    /// <value>Burst 50, 10 a second.</value>
    public RateLimit Customer { get; set; } = new() { Burst = 50, PerSecond = 10 };

    /// <summary>Each operator identity (the bootstrap token, or an issued operator token's subject): enrolling a fleet, automation.</summary>
    /// <value>Burst 1,000, 500 a second.</value>
    public RateLimit Operator { get; set; } = new() { Burst = 1_000, PerSecond = 500 };

    /// <summary>Requests without a token (metrics, OpenAPI, a call that will be answered 401), per remote address.</summary>
    /// <value>Burst 100, 20 a second.</value>
    public RateLimit Anonymous { get; set; } = new() { Burst = 100, PerSecond = 20 };

    /// <summary>Requests whose token was refused (401 until the budget is spent, then 429), per remote address.</summary>
    /// <value>Burst 20, 1 a second.</value>
    public RateLimit FailedAuthentication { get; set; } = new() { Burst = 20, PerSecond = 1 };

    /// <summary>The limits by name, as configuration and messages name them.</summary>
    public IEnumerable<(string Name, RateLimit Limit)> All() =>
    [
        (nameof(Node), Node), (nameof(Gateway), Gateway), (nameof(Customer), Customer),
        (nameof(Operator), Operator), (nameof(Anonymous), Anonymous), (nameof(FailedAuthentication), FailedAuthentication),
    ];
}

/// <summary>A token bucket: <see cref="Burst"/> requests at once, refilled at <see cref="PerSecond"/>.</summary>
public sealed class RateLimit
{
    /// <summary>The most requests a caller may make at once, after being idle.</summary>
    public int Burst { get; set; }

    /// <summary>Requests a second, sustained; fractions allowed (0.1: one every 10 s).</summary>
    public double PerSecond { get; set; }
}
