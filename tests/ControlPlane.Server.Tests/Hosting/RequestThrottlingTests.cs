using System.Net;
using System.Security.Claims;
using ControlPlane.Server.Auth;
using ControlPlane.Server.Options;
using ControlPlane.Server.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Server.Tests.Hosting;

/// <summary>Which budget a request counts against, and how a configured limit becomes a token bucket.</summary>
public sealed class RequestThrottlingTests
{
    [Theory]
    [InlineData(Roles.Node, "gpu-a1", ThrottleGroup.Node)]
    [InlineData(Roles.Gateway, "gw-eu", ThrottleGroup.Gateway)]
    [InlineData(Roles.Customer, "acme", ThrottleGroup.Customer)]
    [InlineData(Roles.Operator, "bootstrap", ThrottleGroup.Operator)]
    public void PartitionOf_ValidToken_IsItsIdentityWhateverTheAddress(string role, string subject, ThrottleGroup group)
    {
        var fromHere = Request("10.0.0.1", role, subject);
        var fromThere = Request("10.9.9.9", role, subject);

        Assert.Equal(new RequestPartition(group, subject), RequestThrottling.PartitionOf(fromHere));
        Assert.Equal(RequestThrottling.PartitionOf(fromHere), RequestThrottling.PartitionOf(fromThere));
    }

    [Fact]
    public void PartitionOf_NoValidToken_IsTheAddress_RefusedCredentialsApart()
    {
        var anonymous = Request("10.0.0.1");
        var refused = Request("10.0.0.1");
        refused.Request.Headers.Authorization = "Bearer forged";

        Assert.Equal(new RequestPartition(ThrottleGroup.Anonymous, "10.0.0.1"), RequestThrottling.PartitionOf(anonymous));
        Assert.Equal(new RequestPartition(ThrottleGroup.FailedAuthentication, "10.0.0.1"), RequestThrottling.PartitionOf(refused));
    }

    [Theory]
    [InlineData("2001:db8:1:2:aaaa::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64")]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7", "192.0.2.7")]
    public void AddressKey_OneHostsAddresses_ShareOneBudget(string one, string other, string key)
    {
        Assert.Equal(key, RequestThrottling.AddressKey(IPAddress.Parse(one)));
        Assert.Equal(key, RequestThrottling.AddressKey(IPAddress.Parse(other)));
        Assert.NotEqual(key, RequestThrottling.AddressKey(IPAddress.Parse("2001:db8:1:3::1")));
    }

    [Theory]
    [InlineData(5, 1, 200)]
    [InlineData(1_000, 100, 100)]
    [InlineData(15, 2, 133.333)]
    [InlineData(30, 3, 100)]
    [InlineData(0.5, 1, 2_000)]
    [InlineData(1.0 / 60, 1, 60_000)]
    public void Bucket_RefillsAtTheRateAskedForAtMostEvery100Ms(double perSecond, int tokens, double periodMs)
    {
        var bucket = RequestThrottling.Bucket(new RateLimit { Burst = 100, PerSecond = perSecond });

        Assert.Equal(100, bucket.TokenLimit);
        Assert.Equal(tokens, bucket.TokensPerPeriod);
        Assert.Equal(periodMs, bucket.ReplenishmentPeriod.TotalMilliseconds, 0.001);
        Assert.Equal(0, bucket.QueueLimit);
    }

    [Fact]
    public void Validator_Defaults_AreValid()
    {
        Assert.True(new RateLimitingOptionsValidator().Validate(null, new RateLimitingOptions()).Succeeded);
    }

    [Theory]
    [InlineData(0, 1, "RateLimiting:Node:Burst must be between 1 and")]
    [InlineData(10, 0, "RateLimiting:Node:PerSecond must be between")]
    [InlineData(10, double.NaN, "RateLimiting:Node:PerSecond must be between")]
    [InlineData(10, 0.0001, "RateLimiting:Node:PerSecond must be between")]
    [InlineData(5, 1_000, "RateLimiting:Node:Burst must be at least a tenth of RateLimiting:Node:PerSecond (100)")]
    public void Validator_BadLimit_IsRefusedWithItsKey(int burst, double perSecond, string message)
    {
        var options = new RateLimitingOptions { Node = new RateLimit { Burst = burst, PerSecond = perSecond } };

        var result = new RateLimitingOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(message, result.FailureMessage, StringComparison.Ordinal);
    }

    private static DefaultHttpContext Request(string address, string? role = null, string? subject = null)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(address);
        if (role is not null)
        {
            context.User = new ClaimsPrincipal(new ClaimsIdentity(
                [new Claim(ControlPlaneClaims.Role, role), new Claim(ControlPlaneClaims.Subject, subject!)],
                BearerTokenHandler.SchemeName));
            context.Request.Headers.Authorization = "Bearer a-valid-one";
        }

        return context;
    }
}
