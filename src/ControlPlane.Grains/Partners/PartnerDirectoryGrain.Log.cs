using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Partners;

public sealed partial class PartnerDirectoryGrain
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Partner {PartnerId} set: {Models} models, {UsdPer1M} USD per 1M tokens, {Capacity} tokens/s")]
    private partial void LogPut(string partnerId, int models, decimal usdPer1M, decimal capacity);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partner {PartnerId} deleted")]
    private partial void LogDeleted(string partnerId);
}
