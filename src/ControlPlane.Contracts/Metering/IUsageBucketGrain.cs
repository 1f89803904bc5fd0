using ControlPlane.Domain.Metering;

namespace ControlPlane.Contracts.Metering;

/// <summary>
/// One customer's usage on one UTC day, keyed by <see cref="GrainKeys.UsageBucket"/>. It is the source of
/// truth for that day: it remembers every event id it counted (so a resent event never counts twice, for
/// the whole term, whichever ledger it went to) and the token totals per ledger (the customer's contract
/// or its pay-as-you-go account), model and rate, in one state record written once per group of
/// concurrent batches. Keeping a day per grain bounds each record; a contract reads the days of a
/// quarter when it needs totals.
/// </summary>
[Alias("IUsageBucketGrain")]
public interface IUsageBucketGrain : IGrainWithStringKey
{
    /// <summary>Counts the events not seen before; returns once they are durable.</summary>
    [Alias("RecordAsync")]
    Task<RecordResult> RecordAsync(List<MeteredEvent> events);

    /// <summary>
    /// Freezes the day's usage into its quarter (the quarter closes): returns the totals counted so far.
    /// Events counted after this are late usage. Idempotent.
    /// </summary>
    [Alias("SealAsync")]
    Task<List<UsageAggregate>> SealAsync(string ledger);

    /// <summary>
    /// Hands the late usage counted since the last call to invoice <paramref name="invoiceId"/>. Calling
    /// again with the same invoice id returns the same usage, so a retried close bills it once.
    /// </summary>
    [Alias("TakeLateUsageAsync")]
    Task<List<UsageAggregate>> TakeLateUsageAsync(string ledger, string invoiceId);

    /// <summary>A ledger's totals without changing anything: counted before the seal, late and not yet billed.</summary>
    [Alias("GetAsync")]
    Task<BucketTotals> GetAsync(string ledger);
}

/// <summary>One usage event, already validated, priced at its list rate and routed to its ledger.</summary>
// Immutable: within a silo a batch's events are passed to their bucket, not copied.
[GenerateSerializer, Immutable, Alias("metered-event")]
public sealed record MeteredEvent(
    [property: Id(0)] string EventId,
    [property: Id(1)] string Model,
    [property: Id(2)] Rate ListRate,
    [property: Id(3)] long InputTokens,
    [property: Id(4)] long OutputTokens,
    [property: Id(5)] string Ledger,
    [property: Id(6)] string? DeploymentId = null);

[GenerateSerializer, Alias("record-result")]
public sealed record RecordResult(
    [property: Id(0)] int Accepted,
    [property: Id(1)] int Duplicates);

/// <param name="ByDeployment">
/// The ledger's usage of the day per deployment, counted and late alike (what an SLA credit is a share of); days
/// counted before deployments were tracked have none.
/// </param>
/// <param name="BilledLate">Late usage already handed to invoices (all of them together).</param>
[GenerateSerializer, Alias("bucket-totals")]
public sealed record BucketTotals(
    [property: Id(0)] bool Sealed,
    [property: Id(1)] List<UsageAggregate> Counted,
    [property: Id(2)] List<UsageAggregate> PendingLate,
    [property: Id(3)] Dictionary<string, List<UsageAggregate>>? ByDeployment = null,
    [property: Id(4)] List<UsageAggregate>? BilledLate = null);
