using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Metering;

public sealed partial class UsageBucketGrain
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "A commit of usage bucket {GrainId} was not stored; reading back what the store holds")]
    private static partial void LogNotStored(ILogger logger, GrainId grainId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Usage bucket {GrainId} could not be read back after a commit that was not stored; deactivating it")]
    private static partial void LogReloadFailed(ILogger logger, GrainId grainId, Exception exception);
}
