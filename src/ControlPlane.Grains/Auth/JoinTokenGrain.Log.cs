using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Auth;

public sealed partial class JoinTokenGrain
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Join token {TokenId} enrolled node {NodeId} (use {Use} of {MaxUses})")]
    private partial void LogEnrolled(string tokenId, string nodeId, int use, int maxUses);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Join token {TokenId} refused for node {NodeId}: {Status}")]
    private partial void LogRefused(string tokenId, string nodeId, Contracts.Auth.JoinStatus status);
}
