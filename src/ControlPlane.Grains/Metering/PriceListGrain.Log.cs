using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Metering;

public sealed partial class PriceListGrain
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "A silo's copy of the price list did not take version {Version}; the change waited for its lease to run out")]
    private static partial void LogPushFailed(ILogger logger, long version, Exception? exception);
}
