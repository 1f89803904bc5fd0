using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Commits;

public sealed partial class ContractGrain
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Contract {ContractId} created for customer {CustomerId}: {QuarterlyCommitUsd} USD a quarter for {Quarters} quarters")]
    private partial void LogCreated(string contractId, string customerId, string quarterlyCommitUsd, int quarters);

    [LoggerMessage(Level = LogLevel.Information, Message = "Contract {ContractId} closed quarter {Quarter}: invoice of {TotalUsd} USD")]
    private partial void LogClosed(string contractId, int quarter, string totalUsd);

    [LoggerMessage(Level = LogLevel.Information, Message = "Contract {ContractId} credited {CreditUsd} USD for deployment {DeploymentId}'s SLO period from {PeriodStart} on invoice {InvoiceId}")]
    private partial void LogSlaCredited(string contractId, string deploymentId, DateOnly periodStart, string creditUsd, string invoiceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Contract {ContractId} could not close a due quarter: {Reason}")]
    private partial void LogAutoCloseFailed(string contractId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Contract {ContractId} quarter {Quarter} reached {Percent}% of its available commit")]
    private partial void LogThresholdReached(string contractId, int quarter, int percent);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Contract {ContractId} could not tell its webhooks yet; it tries again later")]
    private partial void LogAlertsFailed(string contractId, Exception exception);
}
