using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Commits;

public sealed partial class PayAsYouGoGrain
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Customer {CustomerId} closed pay-as-you-go month {Month}: {Outcome}")]
    private partial void LogClosed(string customerId, string month, string outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Customer {CustomerId} could not close pay-as-you-go month {Month}: {Reason}")]
    private partial void LogAutoCloseFailed(string customerId, string month, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Customer {CustomerId} could not announce a pay-as-you-go invoice yet; it tries again later")]
    private partial void LogAnnounceFailed(string customerId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Customer {CustomerId} has no open pay-as-you-go month but its reminder could not be removed; the next tick tries again")]
    private partial void LogReminderNotRemoved(string customerId, Exception exception);
}
