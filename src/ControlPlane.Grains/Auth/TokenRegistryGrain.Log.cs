using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Auth;

public sealed partial class TokenRegistryGrain
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Token {TokenId} issued: {Role} for {Subject} by {IssuedBy}, expires {ExpiresAt:O}")]
    private partial void LogIssued(string tokenId, string role, string subject, string issuedBy, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Token {TokenId} ({Role} for {Subject}) revoked by {RevokedBy}")]
    private partial void LogRevoked(string tokenId, string role, string subject, string revokedBy);
}
