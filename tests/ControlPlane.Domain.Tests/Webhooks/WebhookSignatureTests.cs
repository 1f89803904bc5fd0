using System.Security.Cryptography;
using System.Text;
using ControlPlane.Domain.Webhooks;
using CsCheck;

namespace ControlPlane.Domain.Tests.Webhooks;

public sealed class WebhookSignatureTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"id":"e1","kind":"invoice.issued"}""");

    [Fact]
    public void Sign_IsHexHmacSha256OfTimestampDotBody()
    {
        // The documented scheme, computed by hand as a receiver in another language would.
        var expected = "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(
            Encoding.UTF8.GetBytes("whsec_test-secret-0123456789"),
            Encoding.UTF8.GetBytes("1796212800.{\"id\":\"e1\",\"kind\":\"invoice.issued\"}")));

        Assert.Equal(expected, WebhookSignature.Sign("whsec_test-secret-0123456789", 1796212800, Body));
    }

    [Fact]
    public void Verify_TheSignedRequest_IsAccepted()
    {
        var at = Now.ToUnixTimeSeconds();
        var signature = WebhookSignature.Sign("s3cret-s3cret-s3cret-s3cret", at, Body);

        Assert.True(WebhookSignature.Verify("s3cret-s3cret-s3cret-s3cret", at.ToString(), signature, Body, Now, WebhookSignature.DefaultTolerance));
    }

    [Theory]
    [InlineData(-301, false)]
    [InlineData(-300, true)]
    [InlineData(300, true)]
    [InlineData(301, false)]
    public void Verify_TimestampOutsideTheTolerance_IsARefusedReplay(int secondsOff, bool accepted)
    {
        var at = Now.ToUnixTimeSeconds() + secondsOff;
        var signature = WebhookSignature.Sign("s3cret-s3cret-s3cret-s3cret", at, Body);

        Assert.Equal(accepted, WebhookSignature.Verify("s3cret-s3cret-s3cret-s3cret", at.ToString(), signature, Body, Now, TimeSpan.FromMinutes(5)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("soon")]
    public void Verify_TimestampNotWholeSeconds_IsRefused(string? timestamp)
    {
        var signature = WebhookSignature.Sign("s3cret-s3cret-s3cret-s3cret", Now.ToUnixTimeSeconds(), Body);

        Assert.False(WebhookSignature.Verify("s3cret-s3cret-s3cret-s3cret", timestamp, signature, Body, Now, WebhookSignature.DefaultTolerance));
    }

    [Fact]
    public void Verify_SeveralSignatures_AcceptsAnyThatMatches()
    {
        var at = Now.ToUnixTimeSeconds();
        var header = "v1=00ff " + WebhookSignature.Sign("s3cret-s3cret-s3cret-s3cret", at, Body);

        Assert.True(WebhookSignature.Verify("s3cret-s3cret-s3cret-s3cret", at.ToString(), header, Body, Now, WebhookSignature.DefaultTolerance));
    }

    [Fact]
    public void Verify_AnyChangedByteOrTimestampOrSecret_IsRefused()
    {
        Gen.Select(Gen.Byte.Array[1, 200], Gen.Int[0, 199], Gen.Byte[1, 255], Gen.Int[0, 2])
            .Sample((body, index, flip, what) =>
            {
                var at = Now.ToUnixTimeSeconds();
                var signature = WebhookSignature.Sign("s3cret-s3cret-s3cret-s3cret", at, body);
                var tampered = body.ToArray();
                tampered[index % tampered.Length] ^= flip;
                var ok = what switch
                {
                    0 => WebhookSignature.Verify("s3cret-s3cret-s3cret-s3cret", at.ToString(), signature, tampered, Now, WebhookSignature.DefaultTolerance),
                    1 => WebhookSignature.Verify("s3cret-s3cret-s3cret-s3cret", (at - 1).ToString(), signature, body, Now, WebhookSignature.DefaultTolerance),
                    _ => WebhookSignature.Verify("other-secret-other-secret", at.ToString(), signature, body, Now, WebhookSignature.DefaultTolerance),
                };
                Assert.False(ok);
                Assert.True(WebhookSignature.Verify("s3cret-s3cret-s3cret-s3cret", at.ToString(), signature, body, Now, WebhookSignature.DefaultTolerance));
            });
    }
}
