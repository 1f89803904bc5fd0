using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using System.Threading.RateLimiting;
using ControlPlane.Server.Auth;
using ControlPlane.Server.Metrics;
using ControlPlane.Server.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;

namespace ControlPlane.Server.RateLimiting;

/// <summary>Which budget a request counts against (<see cref="RateLimitingOptions"/>).</summary>
public enum ThrottleGroup
{
    Node,
    Gateway,
    Customer,
    Operator,
    Anonymous,
    FailedAuthentication,
}

/// <summary>One caller's budget: its group and who it is (node id, token subject or remote address).</summary>
public readonly record struct RequestPartition(ThrottleGroup Group, string Key);

/// <summary>
/// ASP.NET Core's rate limiter over every endpoint but the health probes: one token bucket per caller, chosen after
/// authentication (<see cref="PartitionOf"/>). A refused request is answered 429 with <c>Retry-After</c> and a
/// ProblemDetails body, after a pause of a second (<see cref="RequestLimiter.HoldAsync"/>), and counted in
/// <c>controlplane_requests_throttled_total{limit}</c>.
/// </summary>
public static class RequestThrottling
{
    /// <summary>How often a bucket refills at the most (the partitioned limiter replenishes its buckets every 100 ms).</summary>
    private static readonly TimeSpan MinPeriod = TimeSpan.FromMilliseconds(100);

    public static IHostApplicationBuilder AddControlPlaneRateLimiting(this IHostApplicationBuilder builder, RateLimitingOptions options)
    {
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<RequestLimiter>();
        if (!options.Enabled)
        {
            return builder;
        }

        builder.Services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = RejectAsync;
        });
        // The same buckets serve the middleware (one permit a request) and endpoints that charge more (RequestLimiter.ChargeAsync).
        builder.Services.AddOptions<RateLimiterOptions>().Configure<RequestLimiter>((o, limiter) => o.GlobalLimiter = limiter.Limiter);
        return builder;
    }

    /// <summary>Every caller's bucket, one partitioned limiter for the whole silo.</summary>
    internal static PartitionedRateLimiter<HttpContext> CreateLimiter(RateLimitingOptions options) =>
        PartitionedRateLimiter.Create<HttpContext, RequestPartition>(context =>
            RateLimitPartition.GetTokenBucketLimiter(PartitionOf(context), partition => Bucket(LimitOf(options, partition.Group))));

    /// <summary>After authentication (the budget is the caller's identity), before authorization (a refused caller is not worth checking).</summary>
    public static WebApplication UseControlPlaneRateLimiting(this WebApplication app)
    {
        if (app.Services.GetRequiredService<RateLimitingOptions>().Enabled)
        {
            app.UseRateLimiter();
        }

        return app;
    }

    /// <summary>
    /// The budget a request counts against: a valid token's identity (a node by its node id; other roles by their
    /// token's subject), whatever address it comes from; otherwise its remote address, failed authentication attempts
    /// (credentials given and refused) apart from requests that carry none. A join token counts as an operator's, by its id.
    /// </summary>
    public static RequestPartition PartitionOf(HttpContext context)
    {
        var user = context.User;
        if (user.Identity?.IsAuthenticated == true && user.Subject() is { } subject)
        {
            return user.FindFirstValue(ControlPlaneClaims.Role) switch
            {
                Roles.Node => new RequestPartition(ThrottleGroup.Node, subject),
                Roles.Gateway => new RequestPartition(ThrottleGroup.Gateway, subject),
                Roles.Customer => new RequestPartition(ThrottleGroup.Customer, subject),
                // A join token's subject is its region, which several share: each token is a budget of its own.
                Roles.Join => new RequestPartition(ThrottleGroup.Operator, "join:" + user.TokenId()),
                _ => new RequestPartition(ThrottleGroup.Operator, subject),
            };
        }

        var address = AddressKey(context.Connection.RemoteIpAddress);
        return string.IsNullOrEmpty(context.Request.Headers.Authorization)
            ? new RequestPartition(ThrottleGroup.Anonymous, address)
            : new RequestPartition(ThrottleGroup.FailedAuthentication, address);
    }

    /// <summary>
    /// A remote address as a budget: IPv4 (also when mapped into IPv6) as it is; IPv6 by its /64, the least a
    /// single host is given, so that one host cannot spread its requests over many budgets.
    /// </summary>
    public static string AddressKey(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>Tokens one refill brings: one refill at most every 100 ms, whole tokens, at exactly the rate asked for.</summary>
    public static int TokensPerPeriod(double perSecond) => Math.Max(1, (int)Math.Ceiling(Math.Round(perSecond * MinPeriod.TotalSeconds, 9)));

    public static TokenBucketRateLimiterOptions Bucket(RateLimit limit)
    {
        var tokens = TokensPerPeriod(limit.PerSecond);
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = limit.Burst,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = TimeSpan.FromSeconds(tokens / limit.PerSecond),
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    public static RateLimit LimitOf(RateLimitingOptions options, ThrottleGroup group) => group switch
    {
        ThrottleGroup.Node => options.Node,
        ThrottleGroup.Gateway => options.Gateway,
        ThrottleGroup.Customer => options.Customer,
        ThrottleGroup.Operator => options.Operator,
        ThrottleGroup.Anonymous => options.Anonymous,
        _ => options.FailedAuthentication,
    };

    /// <summary>The group as metrics label it (bounded: never who the caller is).</summary>
    public static string Label(ThrottleGroup group) => group switch
    {
        ThrottleGroup.FailedAuthentication => "failed-authentication",
        _ => group.ToString().ToLowerInvariant(),
    };

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var http = rejected.HttpContext;
        var problem = Refuse(http, rejected.Lease);
        await http.RequestServices.GetRequiredService<RequestLimiter>().HoldAsync(cancellationToken);
        if (cancellationToken.IsCancellationRequested)
        {
            return;
        }

        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = problem,
        });
    }

    /// <summary>Counts a refused request, sets its <c>Retry-After</c> and says why, for a 429.</summary>
    internal static ProblemDetails Refuse(HttpContext http, RateLimitLease lease)
    {
        var options = http.RequestServices.GetRequiredService<RateLimitingOptions>();
        var partition = PartitionOf(http);
        var limit = LimitOf(options, partition.Group);
        var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var leaseWait)
            ? leaseWait
            : TimeSpan.FromSeconds(1 / limit.PerSecond);
        var seconds = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));

        http.RequestServices.GetRequiredService<ControlPlaneMetrics>().RequestThrottled(Label(partition.Group));
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return new ProblemDetails
        {
            Status = StatusCodes.Status429TooManyRequests,
            Title = partition.Group == ThrottleGroup.FailedAuthentication
                ? "Too many failed authentication attempts."
                : "Too many requests.",
            Detail = string.Create(CultureInfo.InvariantCulture, $"{Who(partition.Group)} may make {limit.Burst} requests at once and {limit.PerSecond:0.######} a second after that; retry after {seconds} s."),
        };
    }

    private static string Who(ThrottleGroup group) => group switch
    {
        ThrottleGroup.Node => "This node",
        ThrottleGroup.Anonymous => "This address, without a token,",
        ThrottleGroup.FailedAuthentication => "This address, with tokens that are refused,",
        _ => "This token",
    };
}
