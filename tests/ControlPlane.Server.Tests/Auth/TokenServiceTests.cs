using ControlPlane.Server.Auth;
using ControlPlane.Server.Options;

namespace ControlPlane.Server.Tests.Auth;

/// <summary>Signed tokens are accepted in exactly the form they were issued in, and the bootstrap token cannot look like one.</summary>
public sealed class TokenServiceTests
{
    private static readonly TokenService Tokens = new("operator-token-0123456789", null);

    private static string NodeToken() => Tokens.Issue(Roles.Node, "gpu-a1", "token-1", DateTimeOffset.UnixEpoch);

    [Fact]
    public void Verify_IssuedToken_IsAccepted()
    {
        Assert.Equal(new TokenIdentity(Roles.Node, "gpu-a1", "token-1"), Tokens.Verify(NodeToken()));
    }

    [Theory]
    [InlineData("=")]
    [InlineData("==")]
    public void Verify_PaddingAppendedToTheSignature_IsRefused(string padding)
    {
        Assert.Null(Tokens.Verify(NodeToken() + padding));
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

        Assert.Null(Tokens.Verify(token[..^1] + sameBytes));
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("\t")]
    public void Verify_WhitespaceInsideTheSignature_IsRefused(string whitespace)
    {
        var token = NodeToken();

        Assert.Null(Tokens.Verify(token[..^4] + whitespace + token[^4..]));
    }

    [Fact]
    public void Verify_PaddedPayload_IsRefused()
    {
        var parts = NodeToken().Split('.');

        Assert.Null(Tokens.Verify($"{parts[0]}.{parts[1]}=.{parts[2]}"));
    }

    [Fact]
    public void AuthOptionsValidator_BootstrapTokenShapedLikeASignedToken_IsRefusedWithAReason()
    {
        var result = new AuthOptionsValidator().Validate(null, new AuthOptions { BootstrapToken = "cp1.my-operator-token-0123456789" });

        Assert.True(result.Failed);
        Assert.Contains("must not start with 'cp1.'", result.FailureMessage, StringComparison.Ordinal);
    }
}
