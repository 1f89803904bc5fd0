using ControlPlane.Server.Auth;
using ControlPlane.Server.Options;

namespace ControlPlane.Server.Tests.Auth;

/// <summary>Signed tokens are accepted in exactly the form they were issued in, and the bootstrap token cannot look like one.</summary>
public sealed class TokenServiceTests
{
    private static readonly TokenService Tokens = new("operator-token-0123456789", null, "installation-a");

    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-12-02T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static string NodeToken() => Tokens.Issue(Roles.Node, "gpu-a1", "token-1", DateTimeOffset.UnixEpoch);

    [Fact]
    public void Verify_IssuedToken_IsAccepted()
    {
        Assert.Equal(new TokenIdentity(Roles.Node, "gpu-a1", "token-1"), Tokens.Verify(NodeToken(), Now));
    }

    [Theory]
    [InlineData("=")]
    [InlineData("==")]
    public void Verify_PaddingAppendedToTheSignature_IsRefused(string padding)
    {
        Assert.Null(Tokens.Verify(NodeToken() + padding, Now));
    }

    [Fact]
    public void Verify_SignatureWithOtherUnusedBits_IsRefused()
    {
        // 32 bytes take 43 base64url characters, the last carrying 2 unused bits: a decoder that ignores them
        // reads the same signature from 4 spellings. Only the one issued is the token.
        var token = NodeToken();
        var last = token[^1];
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var sameBytes = Alphabet[(Alphabet.IndexOf(last, StringComparison.Ordinal) & ~3) | ((Alphabet.IndexOf(last, StringComparison.Ordinal) + 1) & 3)];

        Assert.Null(Tokens.Verify(token[..^1] + sameBytes, Now));
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("\t")]
    public void Verify_WhitespaceInsideTheSignature_IsRefused(string whitespace)
    {
        var token = NodeToken();

        Assert.Null(Tokens.Verify(token[..^4] + whitespace + token[^4..], Now));
    }

    [Fact]
    public void Verify_PaddedPayload_IsRefused()
    {
        var parts = NodeToken().Split('.');

        Assert.Null(Tokens.Verify($"{parts[0]}.{parts[1]}=.{parts[2]}", Now));
    }

    [Fact]
    public void Verify_IssuedTokenBeforeItExpires_IsAcceptedWithItsExpiry()
    {
        var expires = Now.AddHours(1);
        var token = Tokens.Issue(Roles.Gateway, "gateway", "0123456789abcdef0123456789abcdef", Now, expires);

        Assert.Equal(new TokenIdentity(Roles.Gateway, "gateway", "0123456789abcdef0123456789abcdef", expires), Tokens.Verify(token, Now));
        Assert.NotNull(Tokens.Verify(token, expires.AddSeconds(-1)));
    }

    [Fact]
    public void Verify_IssuedTokenFromItsExpiryOn_IsRefused()
    {
        var expires = Now.AddHours(1);
        var token = Tokens.Issue(Roles.Customer, "acme", "0123456789abcdef0123456789abcdef", Now, expires);

        Assert.Null(Tokens.Verify(token, expires));
        Assert.Null(Tokens.Verify(token, expires.AddDays(30)));
    }

    [Fact]
    public void Verify_TokenOfAnotherInstallationSharingTheSecret_IsRefused()
    {
        // Same bootstrap secret, same signing key: only the installation differs.
        var other = new TokenService("operator-token-0123456789", null, "installation-b");
        var token = other.Issue(Roles.Operator, "operator", "0123456789abcdef0123456789abcdef", Now, Now.AddDays(1));

        Assert.NotNull(other.Verify(token, Now));
        Assert.Null(Tokens.Verify(token, Now));
    }

    [Fact]
    public void Verify_IssuedRoleTokenWithoutExpiry_IsRefused()
    {
        // What gateway, customer and operator tokens looked like before they expired: they would live for ever.
        var legacy = Tokens.Issue(Roles.Operator, "operator", "0123456789abcdef0123456789abcdef", Now);

        Assert.Null(Tokens.Verify(legacy, Now));
    }

    [Fact]
    public void Verify_NodeToken_NeverExpiresAndReadsAsBefore()
    {
        // Node tokens are checked against their node grain's current token id; their bytes did not change.
        var token = NodeToken();

        Assert.Equal(new TokenIdentity(Roles.Node, "gpu-a1", "token-1"), Tokens.Verify(token, Now.AddYears(10)));
        Assert.DoesNotContain("\"x\"", System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[1])), StringComparison.Ordinal);
    }

    [Fact]
    public void AuthOptionsValidator_BootstrapTokenShapedLikeASignedToken_IsRefusedWithAReason()
    {
        var result = new AuthOptionsValidator().Validate(null, new AuthOptions { BootstrapToken = "cp1.my-operator-token-0123456789" });

        Assert.True(result.Failed);
        Assert.Contains("must not start with 'cp1.'", result.FailureMessage, StringComparison.Ordinal);
    }
}
